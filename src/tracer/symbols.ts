// Internal methods of Trace that handles call: symbol-keyed so that they stay out of the
// public surface (pino keeps its internals behind symbols the same way).
export const kLog = Symbol('livetrace.log');
export const kSpawn = Symbol('livetrace.spawn');
export const kJoin = Symbol('livetrace.join');
export const kUpdate = Symbol('livetrace.update');
export const kSetStatus = Symbol('livetrace.setStatus');
export const kEnd = Symbol('livetrace.end');
export const kLogOf = Symbol('livetrace.traceLog');
export const kSubscribe = Symbol('livetrace.subscribe');
export const kClose = Symbol('livetrace.close');
export const kInit = Symbol('livetrace.init');
export const kAdd = Symbol('livetrace.add');
export const kPatch = Symbol('livetrace.patch');
export const kUsage = Symbol('livetrace.usage');
export const kFeed = Symbol('livetrace.feed');
export const kForget = Symbol('livetrace.forgetSubscription');
export const kLateCall = Symbol('livetrace.lateCall');
/** Tracer: a trace whose id is new by construction, created synchronously (the OTel processor's). */
export const kCreateFresh = Symbol('livetrace.createFresh');
