ALTER TABLE "installations" ADD COLUMN "running_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "installations" ADD COLUMN "running_by_type" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
CREATE INDEX "jobs_queued_in_order" ON "jobs" USING btree ("queued_at","id") WHERE status = 'queued' and hold is null;--> statement-breakpoint
UPDATE "installations" i SET
  "running_count" = (SELECT count(*) FROM "jobs" j WHERE j.installation_id = i.id AND j.status = 'running'),
  "running_by_type" = coalesce((
    SELECT jsonb_object_agg(t.job_type, t.n) FROM (
      SELECT job_type, count(*) AS n FROM "jobs" j
      WHERE j.installation_id = i.id AND j.status = 'running' GROUP BY job_type
    ) t), '{}'::jsonb);--> statement-breakpoint
-- Keeps installations.running_count and running_by_type exact on every move into or out of
-- `running`, whichever statement makes it (a claim, a transition, a sweep's set, a fixture).
CREATE FUNCTION "labelrun_count_running"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.status = 'running' THEN
    UPDATE installations SET
      running_count = running_count - 1,
      running_by_type = jsonb_set(running_by_type, ARRAY[OLD.job_type],
        to_jsonb(coalesce((running_by_type ->> OLD.job_type)::int, 0) - 1))
    WHERE id = OLD.installation_id;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.status = 'running' THEN
    UPDATE installations SET
      running_count = running_count + 1,
      running_by_type = jsonb_set(running_by_type, ARRAY[NEW.job_type],
        to_jsonb(coalesce((running_by_type ->> NEW.job_type)::int, 0) + 1))
    WHERE id = NEW.installation_id;
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "jobs_count_running" AFTER UPDATE OF status ON "jobs" FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status AND (OLD.status = 'running' OR NEW.status = 'running'))
  EXECUTE FUNCTION "labelrun_count_running"();--> statement-breakpoint
CREATE TRIGGER "jobs_count_running_insert" AFTER INSERT ON "jobs" FOR EACH ROW
  WHEN (NEW.status = 'running')
  EXECUTE FUNCTION "labelrun_count_running"();--> statement-breakpoint
CREATE TRIGGER "jobs_count_running_delete" AFTER DELETE ON "jobs" FOR EACH ROW
  WHEN (OLD.status = 'running')
  EXECUTE FUNCTION "labelrun_count_running"();
