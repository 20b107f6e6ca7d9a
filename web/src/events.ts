// One EventSource on /api/events shared by every page: each `job` event is the job's JSON
// whenever it changes (every job once at connect). Pages subscribe and get the latest jobs.
import { eventsUrl } from "./api";
import type { Job } from "./types";

type Listener = (job: Job) => void;

const jobs = new Map<number, Job>();
const listeners = new Set<Listener>();
let source: EventSource | null = null;

function connect(): void {
  if (source) return;
  source = new EventSource(eventsUrl());
  source.addEventListener("job", (event) => {
    let job: Job;
    try {
      job = JSON.parse((event as MessageEvent).data) as Job;
    } catch {
      return;
    }
    jobs.set(job.id, job);
    for (const listener of listeners) listener(job);
  });
  source.addEventListener("open", () => setStatus("live"));
  source.addEventListener("error", () => setStatus(source?.readyState === EventSource.CLOSED ? "closed" : "reconnecting"));
}

function setStatus(status: string): void {
  document.body.dataset.events = status;
}

// Calls `listener` for every job known now and every change after; returns the unsubscribe.
export function onJob(listener: Listener): () => void {
  connect();
  listeners.add(listener);
  for (const job of jobs.values()) listener(job);
  return () => listeners.delete(listener);
}

export function knownJob(id: number): Job | undefined {
  return jobs.get(id);
}
