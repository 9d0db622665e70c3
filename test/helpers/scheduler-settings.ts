import { loadConfig } from '../../src/config/load-config.js';
import { schedulerSettingsOf } from '../../src/create-dependencies.js';
import type { SchedulerSettings } from '../../src/scheduler/index.js';

/** The scheduler settings a gateway with an empty config runs with; tests override what they test. */
export const configSchedulerSettings: SchedulerSettings = schedulerSettingsOf(loadConfig({}));
