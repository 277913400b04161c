// Mistakes are refused where they are made, with a coded error that names the
// problem and the fix: misspelled options, wrong types, a string where a list
// goes, overlapping or doubly adopted regions, file resolvers that point at no
// regular file, relative custom modules. Valid input keeps working.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import native from '@faultline/native';
import { FaultHandler, listenForUffds, resolvers, serveFirecracker, patternWord } from '../dist/index.js';
import { editDistance, closestName } from '../dist/suggest.js';
import { describeValue } from '../dist/validate.js';
import { openFds, tempDir, writePatternFile } from './helpers.mjs';

const PS = native.pageSize();
const INVALID = 'ERR_FAULTLINE_INVALID_ARGUMENT';
let handler;
let tmp;

before(async () => {
  handler = await FaultHandler.create({ workers: 1 });
  tmp = tempDir();
});

after(async () => {
  await handler?.close();
  tmp?.cleanup();
});

/** A uffd as a peer would send it: through UFFDIO_API, with `pages` registered. */
function peerUffd(pages = 4) {
  const fd = native.uffdCreate();
  native.uffdApi(fd, 0);
  const map = native.mapAnonymous(pages * PS);
  native.uffdRegister(fd, map.address, map.length, native.constants.UFFDIO_REGISTER_MODE_MISSING);
  return { fd, map };
}

test('the edit distance counts a swap of neighbours as one edit; the closest name must be a plausible slip', () => {
  assert.equal(editDistance('wrokers', 'workers'), 1);
  assert.equal(editDistance('ofset', 'offset'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(closestName('readAhead', ['size', 'readahead', 'resolver']), 'readahead');
  assert.equal(closestName('timout', ['timeoutMs']), 'timeoutMs');
  assert.equal(closestName('zzzzzzzz', ['workers', 'spinUs']), undefined);
});

test('describeValue says the type of what came, and never throws', () => {
  assert.equal(describeValue('2'), "string '2'");
  assert.equal(describeValue(2), 'number 2');
  assert.equal(describeValue(null), 'null');
  assert.equal(describeValue(undefined), 'undefined');
  assert.equal(describeValue([1, 2]), 'an array of 2');
  assert.equal(describeValue({}), 'an object');
  assert.equal(describeValue(Object.create(null)), 'an object');
  assert.equal(describeValue(new Map()), 'an object (Map)');
  assert.equal(describeValue(Symbol('s')), 'symbol s');
  assert.equal(describeValue(5n), 'bigint 5n');
  assert.equal(describeValue(() => 1), 'a function');
});

test('unknown option names are refused with the closest valid one, in every options object', async () => {
  const refuses = async (call, message) => {
    await assert.rejects(async () => call(), (err) => {
      assert.equal(err.code, INVALID);
      assert.equal(err.name, 'FaultlineError');
      assert.equal(err.message, message);
      return true;
    });
  };
  const zero = resolvers.zero();
  await refuses(() => FaultHandler.create({ wrokers: 2 }), "FaultHandler.create(): unknown option 'wrokers'; did you mean 'workers'?");
  await refuses(() => FaultHandler.create({ spinus: 2 }), "FaultHandler.create(): unknown option 'spinus'; did you mean 'spinUs'?");
  await refuses(() => handler.map({ size: PS, resolver: zero, readAhead: 4 }), "map(): unknown option 'readAhead'; did you mean 'readahead'?");
  await refuses(() => handler.map({ size: PS, resolver: zero, onError: { retyr: 2 } }), "onError: unknown option 'retyr'; did you mean 'retry'?");
  await refuses(
    () => handler.adopt(3, { regions: [{ address: PS, size: PS, resolver: zero, ofset: 1 }] }),
    "adopt() regions[0]: unknown option 'ofset'; did you mean 'offset'?",
  );
  await refuses(() => handler.adopt(3, { regoins: [] }), "adopt(): unknown option 'regoins'; did you mean 'regions'?");
  await refuses(
    () => handler.adopt(3, { regions: [{ address: PS, size: PS, resolver: zero, onError: { retry: 1, than: 'zero' } }] }),
    "regions[0].onError: unknown option 'than'; did you mean 'then'?",
  );
  await refuses(() => handler.close({ timout: 1 }), "close(): unknown option 'timout'; did you mean 'timeoutMs'?");
  await refuses(() => resolvers.file('/x', { ofset: 4096 }), "resolvers.file(): unknown option 'ofset'; did you mean 'offset'?");
  await refuses(() => resolvers.snapshot('/x', { offest: 4096 }), "resolvers.snapshot(): unknown option 'offest'; did you mean 'offset'?");
  await refuses(() => resolvers.pattern({ sead: 1 }), "resolvers.pattern(): unknown option 'sead'; did you mean 'seed'?");
  await refuses(
    () => handler.map({ size: PS, resolver: { ...zero, opitons: {} } }),
    "resolver: unknown option 'opitons'; did you mean 'options'?",
  );
  await refuses(
    () => serveFirecracker({ socketPath: join(tmp.dir, 'fc.sock'), memFile: '/x', worker: 2 }),
    "serveFirecracker(): unknown option 'worker'; did you mean 'workers'?",
  );
  await refuses(() => listenForUffds(join(tmp.dir, 'l.sock'), { allowUid: [0] }, () => {}), "listenForUffds(): unknown option 'allowUid'; did you mean 'allowUids'?");
  // Nothing close: the valid names are listed instead.
  await refuses(() => handler.close({ zzzzzzzz: 1 }), "close(): unknown option 'zzzzzzzz'; the options are 'timeoutMs'");
  // The handler was not closed by any of that.
  assert.equal(handler.closed, false);
});

test('every option the README documents for create(), map() and adopt() is accepted', async () => {
  const h = await FaultHandler.create({
    workers: 1, spinUs: 0, parkMs: 50, directPoll: true, nativeResolvers: true, resolveTimeoutMs: 4000,
    resolverLoadTimeoutMs: 8000, controlTimeoutMs: 8000, userModeOnly: false, features: [], maxRegions: 8,
    ringCapacity: 1024, maxInflight: 8, statsIntervalMs: 500, faultSampleEvery: 0,
  });
  try {
    const region = await h.map({ size: PS, pageSize: PS, resolver: resolvers.pattern({ seed: 4 }), readahead: 1, onError: { retry: 1, then: 'zero' }, resolveTimeoutMs: 3000, name: 'all-options' });
    assert.equal(new Uint32Array(region.buffer)[7], patternWord(4, 7));
    const { fd, map } = peerUffd(2);
    const adopted = await h.adopt(fd, {
      regions: [{ address: map.address, size: map.length, pageSize: PS, resolver: resolvers.pattern({ seed: 5 }), offset: PS, readahead: 1, onError: 'zero', resolveTimeoutMs: 3000, name: 'peer' }],
      events: ['fork', 'remap', 'remove', 'unmap'],
    });
    assert.equal(new Uint32Array(map.buffer)[3], patternWord(5, PS / 4 + 3));
    await adopted.close();
  } finally {
    const report = await h.close({ timeoutMs: 2000 });
    assert.equal(report.drained, true);
  }
});

test('type errors say what was expected and what came', async () => {
  const refuses = (p, message) => assert.rejects(p, { code: INVALID, message });
  await refuses(FaultHandler.create(null), /^FaultHandler\.create\(\) takes an options object \{ workers, ringCapacity, .*\}, got null$/);
  await refuses(FaultHandler.create('workers=2'), /takes an options object .*, got string 'workers=2'$/);
  await refuses(FaultHandler.create([2]), /takes an options object .*, got an array of 1$/);
  await refuses(FaultHandler.create({ workers: '2' }), /^workers must be a positive integer \(at most \d+\), got string '2'$/);
  await refuses(FaultHandler.create({ workers: 1.5 }), /^workers must be a positive integer \(at most \d+\), got number 1\.5$/);
  await refuses(FaultHandler.create({ spinUs: -1 }), /^spinUs must be a non-negative integer \(at most 1000000\), got number -1$/);
  await refuses(FaultHandler.create({ userModeOnly: 'yes' }), /^userModeOnly must be true or false, got string 'yes'$/);
  await refuses(FaultHandler.create({ directPoll: 1 }), /^directPoll must be true or false, got number 1$/);
  await refuses(handler.map(null), /^map\(\) takes an options object \{ size, pageSize, resolver, .*\}, got null$/);
  await refuses(handler.map({ size: PS, resolver: resolvers.zero(), readahead: '4' }), /^readahead must be a positive integer \(at most 4096\), got string '4'$/);
  await refuses(handler.map({ size: PS, resolver: resolvers.zero(), name: 7 }), /^name must be a string, got number 7$/);
  await refuses(handler.map({ size: PS, resolver: 'zero' }), /resolver must be a resolver spec \{ module, options \}.*got string 'zero'$/);
  await refuses(handler.map({ size: PS, resolver: resolvers.zero(), onError: 'explode' }), /^onError must be 'sigbus', 'zero' or \{ retry: n, then: 'sigbus' \| 'zero' \}, got string 'explode'$/);
  await refuses(handler.map({ size: PS, resolver: resolvers.zero(), onError: { retry: 1, then: 'ignore' } }), /^onError\.then must be 'sigbus' or 'zero', got string 'ignore'$/);
  await assert.rejects(handler.map({ size: '4096', resolver: resolvers.zero() }), { code: 'ERR_FAULTLINE_INVALID_SIZE', message: /got string '4096'/ });
  await refuses(handler.adopt('3', { regions: [] }), /^adopt\(\) needs a uffd file descriptor \(a non-negative integer\), got string '3'$/);
  await refuses(handler.adopt(3, null), /^adopt\(\) takes an options object \{ regions, events \}, got null$/);
  await refuses(handler.adopt(3, { regions: {} }), /^adopt\(\) needs \{ regions: \[\{ address, size, resolver \}, \.\.\.\] \}, got regions: an object$/);
  await refuses(handler.adopt(3, { regions: [{ address: PS, size: PS, resolver: resolvers.zero(), offset: -PS }] }), /^regions\[0\]\.offset must be a non-negative integer .*got number -4096$/);
  await refuses(handler.adopt(3, { regions: [{ address: PS, size: PS, resolver: resolvers.zero(), offset: 100 }] }), /^regions\[0\]\.offset must be a multiple of the page size \(4096\), got 100$/);
  await refuses(handler.close(5), /^close\(\) takes an options object \{ timeoutMs \}, got number 5$/);
  await refuses(handler.idle('100'), /^idle\(\) timeoutMs must be a non-negative integer .*got string '100'$/);
  assert.throws(() => resolvers.file(42), { code: INVALID, message: /^resolvers\.file\(\) needs a file path \(a non-empty string\), got number 42$/ });
  assert.throws(() => resolvers.custom(undefined, {}), { code: INVALID, message: /^resolvers\.custom\(\) needs a module URL or path, got undefined$/ });
  assert.equal(handler.closed, false);
});

test("a string where a list of names goes is refused as such, not letter by letter", async () => {
  await assert.rejects(FaultHandler.create({ features: 'fork' }), {
    code: INVALID,
    message: "features must be an array of uffd feature names, e.g. ['fork']; got string 'fork'",
  });
  await assert.rejects(FaultHandler.create({ features: ['frok'] }), { code: INVALID, message: /^unknown uffd feature 'frok' in features; did you mean 'fork'\? \(known: wp, fork, / });
  await assert.rejects(FaultHandler.create({ features: [7] }), { code: INVALID, message: /^unknown uffd feature number 7 in features \(known: / });
  await assert.rejects(handler.adopt(3, { regions: [{ address: PS, size: PS, resolver: resolvers.zero() }], events: 'remove' }), {
    code: INVALID,
    message: "events must be an array of event names, e.g. ['remove']; got string 'remove'",
  });
  await assert.rejects(handler.adopt(3, { regions: [{ address: PS, size: PS, resolver: resolvers.zero() }], events: ['remvoe'] }), {
    code: INVALID,
    message: "unknown event 'remvoe' in events; did you mean 'remove'? (known: fork, remap, remove, unmap)",
  });
});

test('overlapping regions in one adopt() are refused, naming both and their ranges', async () => {
  const before = openFds();
  const zero = resolvers.zero();
  const base = 0x7f0000000000;
  await assert.rejects(
    handler.adopt(3, {
      regions: [
        { address: base, size: 4 * PS, resolver: zero },
        { address: base + 8 * PS, size: PS, resolver: zero },
        { address: base + 3 * PS, size: 2 * PS, resolver: zero },
      ],
    }),
    {
      code: INVALID,
      message:
        'adopt() regions[0] [0x7f0000000000, 0x7f0000004000) and regions[2] [0x7f0000003000, 0x7f0000005000) overlap; ' +
        'each page of the peer can have one resolver: split or shorten them',
    },
  );
  // Touching is not overlapping.
  const { fd, map } = peerUffd(4);
  const adopted = await handler.adopt(fd, {
    regions: [
      { address: map.address, size: 2 * PS, resolver: resolvers.pattern({ seed: 1 }) },
      { address: map.address + 2 * PS, size: 2 * PS, resolver: resolvers.pattern({ seed: 2 }), offset: 2 * PS },
    ],
  });
  const words = new Uint32Array(map.buffer);
  assert.equal(words[1], patternWord(1, 1));
  assert.equal(words[(3 * PS) / 4], patternWord(2, (3 * PS) / 4));
  await adopted.close();
  assert.equal(openFds(), before);
});

test('adopting a uffd this handler already serves is refused with ERR_FAULTLINE_ALREADY_ADOPTED; after close() it may be adopted again', async () => {
  const { fd, map } = peerUffd(2);
  const regions = [{ address: map.address, size: map.length, resolver: resolvers.pattern({ seed: 9 }) }];
  const first = await handler.adopt(fd, { regions });
  await assert.rejects(handler.adopt(fd, { regions }), {
    code: 'ERR_FAULTLINE_ALREADY_ADOPTED',
    message: `fd ${fd} is already served by this FaultHandler (adopted before, or a forked child's uffd); close() that AdoptedUffd first, or pass the uffd the other process sent`,
  });
  // The first adoption is untouched by the refusal.
  assert.equal(new Uint32Array(map.buffer)[5], patternWord(9, 5));
  await first.close();
  // close() closed that fd; a new uffd (often given the same number) is adoptable.
  const again = peerUffd(1);
  const second = await handler.adopt(again.fd, { regions: [{ address: again.map.address, size: PS, resolver: resolvers.zero() }] });
  assert.equal(new Uint32Array(again.map.buffer)[0], 0);
  await second.close();
});

test("file() and snapshot(): the path must be a regular file and the offset a page multiple, checked by map() before any worker loads it", async () => {
  const dir = join(tmp.dir, 'a-directory');
  mkdirSync(dir);
  const data = join(tmp.dir, 'data.bin');
  writePatternFile(data, 4 * PS, 3);
  for (const kind of ['file', 'snapshot']) {
    const spec = (path, options) => resolvers[kind](path, options);
    await assert.rejects(handler.map({ size: PS, resolver: spec(dir) }), {
      code: INVALID,
      message: `resolver: resolvers.${kind}() path '${dir}' is a directory; give the path of a regular file in it`,
    });
    await assert.rejects(handler.map({ size: PS, resolver: spec(join(tmp.dir, 'missing.bin')) }), {
      code: INVALID,
      message: `resolver: resolvers.${kind}() path '${join(tmp.dir, 'missing.bin')}' does not exist; give the path of a regular file`,
    });
    await assert.rejects(handler.map({ size: PS, resolver: spec('/dev/null') }), {
      code: INVALID,
      message: /^resolver: resolvers\.\w+\(\) path '\/dev\/null' is not a regular file/,
    });
    await assert.rejects(handler.map({ size: PS, resolver: spec(data, { offset: -PS }) }), {
      code: INVALID,
      message: `resolver: resolvers.${kind}() offset must be a non-negative multiple of the page size (${PS}), got number -${PS}`,
    });
    await assert.rejects(handler.map({ size: PS, resolver: spec(data, { offset: 100 }) }), { code: INVALID, message: /got number 100$/ });
    await assert.rejects(handler.map({ size: PS, resolver: spec(data, { offset: '4096' }) }), { code: INVALID, message: /got string '4096'$/ });
    // adopt() checks the same, naming the region.
    await assert.rejects(handler.adopt(3, { regions: [{ address: PS, size: PS, resolver: spec(dir) }] }), {
      code: INVALID,
      message: `regions[0].resolver: resolvers.${kind}() path '${dir}' is a directory; give the path of a regular file in it`,
    });
    // Valid: a region longer than what is left of the file reads zeros past its end (documented).
    const region = await handler.map({ size: 4 * PS, resolver: spec(data, { offset: 2 * PS }) });
    const words = new Uint32Array(region.buffer);
    assert.equal(words[5], patternWord(3, (2 * PS) / 4 + 5));
    assert.equal(words[PS / 4 + 9], patternWord(3, (3 * PS) / 4 + 9));
    assert.ok(new Uint8Array(region.buffer, 2 * PS).every((b) => b === 0), `${kind}: bytes past the end of the file read as zero`);
    await region.unmap();
  }
});

test('custom(): a relative path is resolved against process.cwd(); URLs and bare specifiers are kept; a missing module is named at map()', async () => {
  const modDir = join(tmp.dir, 'mods');
  mkdirSync(modDir);
  writeFileSync(join(modDir, 'sevens.mjs'), 'export default (o) => ({ resolve(request, out) { out.fill(o.byte); } });\n');
  const cwd = process.cwd();
  process.chdir(tmp.dir);
  try {
    const spec = resolvers.custom('./mods/sevens.mjs', { byte: 7 });
    assert.equal(spec.module, pathToFileURL(join(modDir, 'sevens.mjs')).href);
    assert.equal(resolvers.custom('../x/y.mjs', {}).module, pathToFileURL(join(tmp.dir, '..', 'x', 'y.mjs')).href);
    const region = await handler.map({ size: PS, resolver: spec });
    assert.equal(new Uint8Array(region.buffer)[100], 7);
    await region.unmap();
    await assert.rejects(handler.map({ size: PS, resolver: resolvers.custom('./mods/missing.mjs', {}) }), {
      code: 'ERR_FAULTLINE_RESOLVER_LOAD',
      message: `resolver: resolver module ${join(modDir, 'missing.mjs')} does not exist (resolvers.custom() resolves a relative path against the current directory, ${tmp.dir})`,
    });
  } finally {
    process.chdir(cwd);
  }
  assert.equal(resolvers.custom('some-package/resolver', {}).module, 'some-package/resolver');
  const dataUrl = 'data:text/javascript,export default () => ({ resolve(request, out) { out.fill(9); } })';
  assert.equal(resolvers.custom(dataUrl, {}).module, dataUrl);
  const region = await handler.map({ size: PS, resolver: resolvers.custom(dataUrl, {}) });
  assert.equal(new Uint8Array(region.buffer)[5], 9);
  await region.unmap();
});

test('serveFirecracker() refuses a memory file that is a directory, missing or empty', async () => {
  const socketPath = join(tmp.dir, 'fc-bad.sock');
  const empty = join(tmp.dir, 'empty.mem');
  writeFileSync(empty, '');
  await assert.rejects(serveFirecracker({ socketPath, memFile: tmp.dir }), {
    code: INVALID,
    message: `the memory file '${tmp.dir}' is a directory; give the path of a regular file in it`,
  });
  await assert.rejects(serveFirecracker({ socketPath, memFile: join(tmp.dir, 'nope.mem') }), { code: INVALID, message: /'.*nope\.mem' does not exist/ });
  await assert.rejects(serveFirecracker({ socketPath, memFile: empty }), { code: INVALID, message: `the memory file ${empty} is empty` });
});
