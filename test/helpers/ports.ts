/**
 * One implementation for tests and benchmarks: bench code cannot import from
 * test/ (the build leaves test/ out), so the helper lives in bench/lib.
 */
export { freePort } from '../../bench/lib/free-port.js';
