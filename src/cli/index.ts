export { main, type MainOptions } from './main.js';
export { EXIT, exitCodeOf, type ExitCode } from './exit-codes.js';
