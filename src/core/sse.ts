// The livetrace event stream over SSE, as server and clients both speak it.

/** The `data:` of the last message of a trace's event stream: the trace has completed. */
export const SSE_DONE = '[DONE]';
