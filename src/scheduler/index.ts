/** The scheduler's public surface: per-key serialization, tenant and global caps, fair queuing. */
export { createScheduler } from './scheduler.js';
export type {
  Scheduler,
  SchedulerJob,
  SchedulerOptions,
  SchedulerSettings,
  SchedulerStats,
  Ticket,
} from './types.js';
