/**
 * Registers the module hooks the unit tests need; run them with
 * `node --import ./lib/test/register.mjs --test lib/test/*.test.js` (`jlpm test`).
 */
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
