// Property tests (fast-check) of the code that reads what others wrote: the
// ring's record decoder, the Firecracker handshake parser and the option
// validation. Whatever they are given, they answer with a value that keeps
// their invariants or a coded FaultlineError: never a raw TypeError or
// RangeError, never a hang.
//
// FAULTLINE_FUZZ_RUNS sets the runs per property (default 1000: a few seconds
// for the file), FAULTLINE_FUZZ_SEED the seed (default fixed, so `npm test`
// is repeatable). On a failure fast-check prints the seed and the path that
// replay it, and the smallest counterexample it found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import native from '@faultline/native';
import { FaultlineError, FAULTLINE_ERROR_CODES } from '../dist/index.js';
import {
  decodeMessage,
  decodeHead,
  encodeFault,
  encodeFork,
  encodeRemap,
  encodeRemove,
  encodeUnmap,
  messageRecords,
  FLAG_WRITE,
  FLAG_WP,
  FLAG_MINOR,
  MAX_UFFD_ID,
  MAX_MESSAGE_RECORDS,
} from '../dist/ring/index.js';
import { parseHandshake, FirecrackerHandshakeError } from '../dist/firecracker/handshake.js';
import {
  handlerConfig,
  mapConfig,
  adoptConfig,
  closeConfig,
  FAULT_HANDLER_OPTION_KEYS,
  MAP_OPTION_KEYS,
  ADOPT_REGION_KEYS,
} from '../dist/handler/config.js';
import { resolvers } from '../dist/index.js';

const RUNS = Number(process.env.FAULTLINE_FUZZ_RUNS ?? 1000);
const SEED = process.env.FAULTLINE_FUZZ_SEED === undefined ? 20260 : Number(process.env.FAULTLINE_FUZZ_SEED);
assert.ok(Number.isSafeInteger(RUNS) && RUNS > 0, `FAULTLINE_FUZZ_RUNS must be a positive integer, got ${process.env.FAULTLINE_FUZZ_RUNS}`);
assert.ok(Number.isSafeInteger(SEED), `FAULTLINE_FUZZ_SEED must be an integer, got ${process.env.FAULTLINE_FUZZ_SEED}`);
const params = { numRuns: RUNS, seed: SEED };
const PS = native.pageSize();
const TIMEOUT = { timeout: 120_000 }; // a hang fails the test instead of stalling the run

/** Runs `f`; anything it throws must be a FaultlineError whose code passes `codeOk`. */
function returnsOrCoded(f, codeOk) {
  try {
    return { value: f() };
  } catch (err) {
    if (!(err instanceof FaultlineError)) throw new Error(`threw a raw ${err?.constructor?.name}: ${err?.message}`, { cause: err });
    if (!codeOk(err.code)) throw new Error(`threw code ${err.code}: ${err.message}`, { cause: err });
    if (typeof err.message !== 'string' || err.message.length === 0) throw new Error(`${err.code} without a message`);
    return { error: err };
  }
}

// ---- (a) the ring's record codec

const uffdId = fc.integer({ min: 0, max: MAX_UFFD_ID });
const arg = fc.maxSafeNat();

test('ring: every valid message survives encode then decode', TIMEOUT, () => {
  const message = fc.oneof(
    fc.record({ kind: fc.constant('fault'), uffdId, address: arg, flags: fc.integer({ min: 0, max: 0xff }), tid: fc.nat({ max: 0xffffffff }) }),
    fc.record({ kind: fc.constant('fork'), uffdId, childUffdId: uffdId }),
    fc.record({ kind: fc.constant('remap'), uffdId, from: arg, to: arg, length: arg }),
    fc.record({ kind: fc.constant('remove'), uffdId, start: arg, end: arg }),
    fc.record({ kind: fc.constant('unmap'), uffdId, start: arg, end: arg }),
  );
  const encode = (m) => {
    switch (m.kind) {
      case 'fault': return encodeFault(m.uffdId, m.address, m.flags, m.tid);
      case 'fork': return encodeFork(m.uffdId, m.childUffdId);
      case 'remap': return encodeRemap(m.uffdId, m.from, m.to, m.length);
      case 'remove': return encodeRemove(m.uffdId, m.start, m.end);
      default: return encodeUnmap(m.uffdId, m.start, m.end);
    }
  };
  const expected = (m) => {
    if (m.kind !== 'fault') return { ...m };
    const { flags, ...rest } = m;
    return { ...rest, write: (flags & FLAG_WRITE) !== 0, wp: (flags & FLAG_WP) !== 0, minor: (flags & FLAG_MINOR) !== 0 };
  };
  fc.assert(
    fc.property(fc.array(message, { minLength: 1, maxLength: 8 }), (messages) => {
      // Several messages back to back, walked as a consumer walks them.
      const parts = messages.map(encode);
      const words = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        words.set(p, at);
        at += p.length;
      }
      let i = 0;
      for (const m of messages) {
        assert.deepEqual(decodeMessage(words, i), expected(m));
        if (m.kind === 'fault') assert.equal(decodeHead(words, i).flags, m.flags);
        i += messageRecords(words, i);
      }
      assert.equal(i * 4, words.length);
    }),
    params,
  );
});

test('ring: arbitrary records decode to a well-formed message or ERR_FAULTLINE_RING_CORRUPT, nothing else', TIMEOUT, () => {
  const isCorrupt = (code) => code === 'ERR_FAULTLINE_RING_CORRUPT';
  // Mostly plausible type words (known kinds, small cont fields), some pure noise.
  const typeWord = fc.oneof(
    fc.nat({ max: 0xffffffff }),
    fc.record({ kind: fc.constantFrom(0x12, 0x13, 0x14, 0x15, 0x16, 0x7f, 0), flags: fc.nat({ max: 0xff }), cont: fc.nat({ max: 15 }), id: uffdId })
      .map(({ kind, flags, cont, id }) => (kind | (flags << 8) | (cont << 16) | (id << 20)) >>> 0),
  );
  const record = fc.tuple(typeWord, fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }));
  fc.assert(
    fc.property(fc.array(record, { minLength: 1, maxLength: 4 }), fc.nat({ max: 4 }), (records, index) => {
      const words = Uint32Array.from(records.flat());
      const i = index % records.length;
      const r = returnsOrCoded(() => decodeMessage(words, i), isCorrupt);
      assert.ok(messageRecords(words, i) >= 1 && messageRecords(words, i) <= MAX_MESSAGE_RECORDS);
      if (r.error) return;
      const m = r.value;
      assert.ok(['fault', 'fork', 'remap', 'remove', 'unmap'].includes(m.kind));
      assert.ok(Number.isInteger(m.uffdId) && m.uffdId >= 0 && m.uffdId <= MAX_UFFD_ID);
      for (const [key, value] of Object.entries(m)) {
        if (typeof value === 'number') assert.ok(Number.isSafeInteger(value) && value >= 0, `${key} = ${value}`);
      }
      // Everything a decoded message says was inside the records given.
      assert.ok(i + messageRecords(words, i) <= records.length || m.kind === 'fault' || m.kind === 'fork');
    }),
    params,
  );
});

// ---- (b) the Firecracker handshake parser

const FC_CODES = new Set(FAULTLINE_ERROR_CODES.filter((c) => c.startsWith('ERR_FAULTLINE_FC_')));

/** Checks a parse outcome: valid regions that keep every rule, or a FirecrackerHandshakeError. */
function checkHandshake(payload, limits) {
  const r = returnsOrCoded(() => parseHandshake(payload, limits), (code) => FC_CODES.has(code));
  if (r.error) {
    assert.ok(r.error instanceof FirecrackerHandshakeError, `${r.error.code} is not a FirecrackerHandshakeError`);
    return;
  }
  const regions = r.value;
  assert.ok(Array.isArray(regions) && regions.length >= 1 && regions.length <= (limits.maxRegions ?? 1024));
  for (const g of regions) {
    assert.deepEqual(Object.keys(g).sort(), ['address', 'offset', 'pageSize', 'size']);
    assert.equal(g.pageSize, limits.pageSize);
    assert.ok(g.size > 0 && g.size % g.pageSize === 0 && g.address % g.pageSize === 0);
    assert.ok(Number.isSafeInteger(g.address + g.size) && Number.isSafeInteger(g.offset + g.size) && g.offset >= 0);
    if (limits.memorySize !== undefined) assert.ok(g.offset + g.size <= limits.memorySize);
  }
  const sorted = [...regions].sort((a, b) => a.address - b.address);
  for (let k = 1; k < sorted.length; k++) assert.ok(sorted[k - 1].address + sorted[k - 1].size <= sorted[k].address, 'overlap accepted');
}

const limitsArb = fc.record(
  { pageSize: fc.constant(PS), memorySize: fc.nat({ max: 1 << 30 }), maxRegions: fc.integer({ min: 1, max: 8 }) },
  { requiredKeys: ['pageSize'] },
);

test('handshake: arbitrary bytes are refused with an ERR_FAULTLINE_FC_* code or parsed into valid regions', TIMEOUT, () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), limitsArb, (bytes, limits) => checkHandshake(bytes, limits)), params);
});

test('handshake: arbitrary JSON values and near-miss region lists', TIMEOUT, () => {
  const encoder = new TextEncoder();
  // Mostly plausible values (so that parsing gets past the first field and
  // regions overlap or not), with the numbers that matter mixed in: 0,
  // negatives, fractions, 2^53 and beyond, non-numbers.
  const pages = fc.nat({ max: 64 }).map((n) => n * PS);
  const edge = fc.oneof(
    fc.constantFrom(0, -PS, PS / 2, 0.5, 2 ** 53, 2 ** 53 - PS, 2 ** 64, PS * 512, 2 ** 31, 2 ** 32, Number.MAX_VALUE),
    fc.integer(),
    fc.double(),
  );
  const mutate = (valid) => fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: edge }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) });
  const field = mutate(pages);
  const pageSize = fc.oneof({ weight: 6, arbitrary: fc.constant(PS) }, { weight: 1, arbitrary: fc.constantFrom(PS * 512, PS / 4, 3 * PS) }, { weight: 1, arbitrary: field });
  const fields = { base_host_virt_addr: field, size: mutate(fc.integer({ min: 1, max: 16 }).map((n) => n * PS)), offset: field, page_size: pageSize, page_size_kib: pageSize, extra: fc.jsonValue({ maxDepth: 2 }) };
  const region = fc.oneof(
    { weight: 6, arbitrary: fc.record(fields, { requiredKeys: ['base_host_virt_addr', 'size', 'offset'] }) },
    { weight: 1, arbitrary: fc.record(fields, { requiredKeys: [] }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
  );
  const handshake = fc.oneof({ weight: 4, arbitrary: fc.array(region, { maxLength: 6 }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) });
  fc.assert(
    fc.property(handshake, limitsArb, (value, limits) => {
      checkHandshake(encoder.encode(JSON.stringify(value) ?? ''), limits);
    }),
    params,
  );
});

// ---- (c) option validation

const CONFIG_CODES = new Set(['ERR_FAULTLINE_INVALID_ARGUMENT', 'ERR_FAULTLINE_INVALID_SIZE', 'ERR_FAULTLINE_OPTIONS_NOT_CLONEABLE']);
const configCode = (code) => CONFIG_CODES.has(code);

/** Values an option might be given: right and wrong types, edge numbers, exotic objects. */
const optionValue = fc.oneof(
  { weight: 3, arbitrary: fc.oneof(fc.integer({ min: -2, max: 70 }), fc.constantFrom(0, 1, 2, 4096, 8192, 1024, PS * 3, 2 ** 53, NaN, Infinity, -0, 0.5)) },
  { weight: 1, arbitrary: fc.constantFrom('sigbus', 'zero', 'fork', 'remove', true, false, null, undefined, '2', [], ['fork'], ['remove', 'unmap'], { retry: 2, then: 'zero' }, { retry: '1' }) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2, withNullPrototype: true, withBigInt: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withBoxedValues: true, withDate: true }) },
);

/** An options object: mostly real keys (some misspelled), with arbitrary values. */
function optionsArb(keys, extra = {}) {
  const misspelt = fc.constantFrom(...keys).map((k) => (k.length > 2 ? k[1] + k[0] + k.slice(2) : `${k}x`));
  return fc.oneof(
    { weight: 4, arbitrary: fc.dictionary(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: misspelt }), optionValue, { maxKeys: keys.length }).map((o) => ({ ...o, ...extra })) },
    { weight: 1, arbitrary: fc.anything({ maxDepth: 2, withNullPrototype: true, withBigInt: true }) },
  );
}

test('options: arbitrary create() options give a config or a coded error', TIMEOUT, () => {
  fc.assert(
    fc.property(optionsArb(FAULT_HANDLER_OPTION_KEYS), (options) => {
      const r = returnsOrCoded(() => handlerConfig(options), configCode);
      if (r.error) return;
      const c = r.value;
      for (const k of ['workers', 'ringCapacity', 'parkMs', 'maxInflight', 'maxRegions', 'statsIntervalMs', 'resolveTimeoutMs', 'resolverLoadTimeoutMs', 'controlTimeoutMs']) {
        assert.ok(Number.isInteger(c[k]) && c[k] >= 1, `${k} = ${c[k]}`);
      }
      assert.ok(Number.isInteger(c.spinUs) && c.spinUs >= 0);
      assert.equal(c.ringCapacity & (c.ringCapacity - 1), 0);
      assert.ok(Array.isArray(c.features) && c.features.every((f) => typeof f === 'string'));
      assert.equal(typeof c.userModeOnly, 'boolean');
    }),
    params,
  );
});

test('options: arbitrary map(), adopt() and close() options give a config or a coded error', TIMEOUT, () => {
  const withResolver = fc.oneof(fc.constant(resolvers.zero()), fc.constant(resolvers.pattern({ seed: 3 })), optionValue);
  fc.assert(
    fc.property(
      optionsArb(MAP_OPTION_KEYS, {}),
      withResolver,
      fc.boolean(),
      (options, resolver, addResolver) => {
        const given = addResolver && typeof options === 'object' && options !== null && !Array.isArray(options) ? { size: PS, ...options, resolver } : options;
        const r = returnsOrCoded(() => mapConfig(given, PS, 'fuzz', 5000), configCode);
        if (r.error) return;
        const c = r.value;
        assert.ok(c.size > 0 && c.size % c.pageSize === 0);
        assert.ok(Number.isInteger(c.readahead) && c.readahead >= 1);
        assert.ok(c.onError === 'sigbus' || c.onError === 'zero');
        assert.equal(typeof c.name, 'string');
        assert.equal(typeof c.resolver.module, 'string');
      },
    ),
    params,
  );
  fc.assert(
    fc.property(
      fc.oneof(fc.nat({ max: 1000 }), optionValue),
      fc.oneof(
        fc.record({ regions: fc.array(optionsArb(ADOPT_REGION_KEYS, { resolver: resolvers.zero() }), { maxLength: 4 }), events: optionValue }, { requiredKeys: ['regions'] }),
        optionValue,
      ),
      (fd, options) => {
        const r = returnsOrCoded(() => adoptConfig(fd, options, PS, 5000), configCode);
        if (r.error) return;
        const { regions, events } = r.value;
        assert.ok(regions.length >= 1 && events instanceof Set);
        for (const g of regions) assert.ok(g.address % PS === 0 && g.size > 0 && g.offset % PS === 0 && g.offset >= 0);
      },
    ),
    params,
  );
  fc.assert(
    fc.property(optionsArb(['timeoutMs']), (options) => {
      const r = returnsOrCoded(() => closeConfig(options), configCode);
      if (r.value) assert.ok(Number.isInteger(r.value.timeoutMs) && r.value.timeoutMs >= 1);
    }),
    params,
  );
});
