import type { Clock } from "../../clock.js";
import type { Database } from "../../db/client.js";
import { type InstallationInput, recordInstallation } from "../../db/installations.js";
import { setNewest } from "../../newest-first-map.js";

/**
 * Which installations this process recorded lately: a trigger refreshes its installation's
 * account (a renamed organisation, a deletion that came back) at most once per `everyMs`, or
 * when the account it names changed, instead of reading the row for every trigger. That the row
 * exists is the job's own statement's to ensure (createJob's `installation`).
 */
export class InstallationChecks {
  private readonly checked = new Map<number, { login: string; until: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly everyMs = 10 * 60_000,
    private readonly maxEntries = 10_000,
  ) {}

  async record(db: Database, installation: InstallationInput, at: Date): Promise<void> {
    const now = this.clock.now().getTime();
    const seen = this.checked.get(installation.id);
    if (seen && seen.until > now && seen.login === installation.accountLogin) return;
    await recordInstallation(db, installation, at);
    setNewest(
      this.checked,
      installation.id,
      { login: installation.accountLogin, until: now + this.everyMs },
      this.maxEntries,
    );
  }
}
