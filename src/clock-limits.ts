/**
 * Facts of the platform's clocks and calendars that several modules need, in
 * one place and with no imports (the SDK loads this without the gateway).
 */

/**
 * The longest delay a Node timer can take: Node runs a `setTimeout` above
 * 2^31 − 1 ms after 1 ms instead (with a TimeoutOverflowWarning), which would
 * turn a very long wait or deadline into an immediate one.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** English month abbreviations, as HTTP dates (RFC 9110) and access-log times write them. */
export const MONTH_ABBREVIATIONS = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'May',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
] as const;
