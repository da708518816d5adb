import { describe, expect, it } from "vitest";
import { JobTypesFileError, loadJobTypes, parseJobTypes } from "../../src/config/job-types.js";
import { defaultRepoConfig, validateRepoConfig } from "../../src/config/repo-config.js";

const problemsOf = (text: string) => {
  try {
    parseJobTypes(text);
  } catch (error) {
    if (error instanceof JobTypesFileError) return error.problems;
    throw error;
  }
  return [];
};

describe("the operator's job-types file", () => {
  it("defaults each job type and derives the default trigger labels", () => {
    const types = parseJobTypes(
      "job_types:\n  implement:\n    command: [node, a.mjs]\n  review:\n    command: [node, r.mjs]\n    label: please-review\n",
    );
    expect(types.byName.get("implement")).toMatchObject({
      timeout_minutes: 45,
      max_attempts: 3,
      env: [],
      clone: true,
      label: "agent:implement",
    });
    expect(types.defaultTriggers).toEqual({ "agent:implement": "implement", "please-review": "review" });
  });

  it("lists every problem with its line and column", () => {
    const problems = problemsOf(
      "job_types:\n  implement:\n    command: []\n    timeout_minutes: -1\n    env: [lower_case]\n    shell: true\n",
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^line 3, column 14: `job_types.implement.command`/),
        expect.stringMatching(/^line 4, column 22: `job_types.implement.timeout_minutes`/),
        expect.stringMatching(/^line 5, column \d+: `job_types.implement.env.0`: must be an environment variable name/),
        expect.stringMatching(/^line 3, column 5: `job_types.implement`: Unrecognized key: "shell"/),
      ]),
    );
  });

  it("refuses a follow-up or `after` naming an unknown job type", () => {
    expect(problemsOf("job_types:\n  implement:\n    command: [a]\n    follow_up: reviw\n")).toEqual([
      "`job_types.implement`: names an unknown job type `reviw` — known: implement",
    ]);
  });

  it("reports YAML syntax errors with line and column", () => {
    expect(problemsOf("job_types:\n  implement:\n    command: [node, a.mjs\n")[0]).toMatch(/^line \d+, column \d+: /);
  });

  it("names the file and the variable when it cannot be read", () => {
    expect(() => loadJobTypes("/no/such/labelrun.config.yml")).toThrow(/cannot read it .*set LABELRUN_CONFIG/);
  });

  it("the shipped labelrun.config.yml is valid and points at the demo agent by absolute path", () => {
    const types = loadJobTypes("labelrun.config.yml");
    expect([...types.byName.keys()]).toEqual(["implement", "review"]);
    expect(types.byName.get("implement")?.command[1]).toMatch(/^\/.*\/examples\/agents\/demo-agent\.mjs$/);
  });
});

describe("a repository's .github/labelrun.yml", () => {
  const types = parseJobTypes(
    "job_types:\n  implement:\n    command: [node, a.mjs]\n  review:\n    command: [node, r.mjs]\n",
  );

  it("without a file, the job types' labels trigger them and labels are removed when jobs end", () => {
    expect(defaultRepoConfig(types)).toEqual({
      enabled: true,
      triggers: { "agent:implement": "implement", "agent:review": "review" },
      removeLabelWhenDone: true,
      allowBots: [],
      requireApprovalForOutsiders: false,
      dryRun: false,
    });
  });

  it("accepts its own triggers and settings", () => {
    expect(
      validateRepoConfig(
        { triggers: { "ai:fix": "implement" }, remove_label_when_done: false, allow_bots: ["renovate[bot]"] },
        types,
      ),
    ).toEqual({
      ok: true,
      config: {
        enabled: true,
        triggers: { "ai:fix": "implement" },
        removeLabelWhenDone: false,
        allowBots: ["renovate[bot]"],
        requireApprovalForOutsiders: false,
        dryRun: false,
      },
    });
  });

  it("refuses unknown keys and wrong types with the path named", () => {
    expect(validateRepoConfig({ enabled: "yes", trigger: {} }, types)).toEqual({
      ok: false,
      problems: [
        ".github/labelrun.yml `enabled`: Invalid input: expected boolean, received string",
        '.github/labelrun.yml: Unrecognized key: "trigger"',
      ],
    });
  });
});
