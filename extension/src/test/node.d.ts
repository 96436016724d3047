/**
 * The little of Node's API the unit tests use (the project has no @types/node): the
 * built-in test runner, strict assertions, and `module.register` for the loader hooks.
 */
declare module 'node:test' {
  type Body = () => void | Promise<void>;
  export function describe(name: string, body: () => void): void;
  export function it(name: string, body: Body): void;
  export function beforeEach(body: Body): void;
}

declare module 'node:assert/strict' {
  type Expected = RegExp | ((error: unknown) => boolean) | object;
  function assert(value: unknown, message?: string): void;
  namespace assert {
    function ok(value: unknown, message?: string): void;
    function equal(actual: unknown, expected: unknown, message?: string): void;
    function notEqual(actual: unknown, expected: unknown, message?: string): void;
    function deepEqual(actual: unknown, expected: unknown, message?: string): void;
    function notDeepEqual(actual: unknown, expected: unknown, message?: string): void;
    function match(value: string, pattern: RegExp, message?: string): void;
    function doesNotMatch(value: string, pattern: RegExp, message?: string): void;
    function throws(body: () => unknown, expected?: Expected, message?: string): void;
    function rejects(
      body: Promise<unknown> | (() => Promise<unknown>),
      expected?: Expected
    ): Promise<void>;
  }
  export default assert;
}

declare module 'node:module' {
  export function register(specifier: string, parentURL: string): void;
}
