/**
 * Layout of the control block the pool shares with its workers: one
 * `SharedArrayBuffer` holding a job header, the job's calls (their
 * arguments as f64) and a slot per worker (a header of Int32 words, then
 * room for an error message in UTF-8). The worker program is a string (see
 * worker-source.ts), so it receives these numbers by interpolation rather
 * than by import.
 */

/** Int32 words of the job header and of each slot's header. */
export const HEADER_INTS = 8;
/** Arguments a kernel call may take. */
export const MAX_ARGS = 24;
/** Calls one job may hold: the parts the threads claim one at a time. */
export const MAX_CALLS = 64;
/** Bytes kept for a failed call's message. */
export const MESSAGE_BYTES = 480;
/** Byte offset of the calls (after the job header). */
export const CALLS_OFFSET = HEADER_INTS * 4;
/** Byte offset of the first slot. */
export const SLOTS_OFFSET = CALLS_OFFSET + MAX_CALLS * MAX_ARGS * 8;
/** Bytes of one slot (a multiple of 8). */
export const SLOT_BYTES = HEADER_INTS * 4 + MESSAGE_BYTES;

/** Words of the job header: which kernel, how many calls and arguments, and the counter every thread claims calls from. */
export const JOB = Object.freeze({
  /** Index of the kernel in the name list the workers got at start, or {@link QUIT}. */
  kernel: 0,
  /** Number of calls. */
  calls: 1,
  /** Arguments per call. */
  argc: 2,
  /** The next unclaimed call; threads take calls with `Atomics.add`. */
  next: 3,
  /**
   * 0: threads claim calls from {@link JOB.next}. Else the number of
   * threads `t`, and calls are dealt instead: call `i` is thread
   * `i mod t`'s, the host being thread 0 and slot `s` thread `s + 1`
   * (see `PartAssignment` in pool.ts).
   */
  deal: 4,
});

/** Words of a worker's slot header. */
export const SLOT = Object.freeze({
  /** Incremented by the host for each job; the worker waits on it. */
  request: 0,
  /** Set by the worker to the request it finished; the host waits on it. */
  done: 1,
  /**
   * `r` while request `r` is open; the worker joins it by swapping in `-r`,
   * the host closes it by swapping in 0 once every call is claimed (a
   * worker that wakes late then has nothing to do and is not waited for).
   */
  claim: 2,
  /** 0 when the worker's calls returned, 1 when one threw (the message follows the header). */
  status: 3,
  /** Bytes of the message. */
  messageBytes: 4,
  /** Calls the worker ran to the end for the request in {@link SLOT.done}. */
  ran: 5,
});

/** The kernel index that tells a worker to leave its loop. */
export const QUIT = -1;
