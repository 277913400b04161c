// parseHandshake / pickUffd: Firecracker's GuestRegionUffdMapping list, both
// page-size field names, and every rule a bad peer can break.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHandshake, pickUffd } from '../dist/firecracker/handshake.js';

const PAGE = 4096;
const enc = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const limits = { pageSize: PAGE, memorySize: 64 * PAGE };
const region = (over = {}) => ({ base_host_virt_addr: 0x7f0000000000, size: 16 * PAGE, offset: 0, page_size: PAGE, ...over });
const rejects = (payload, code, pattern, lim = limits) =>
  assert.throws(() => parseHandshake(enc(payload), lim), (e) => e.code === code && (!pattern || pattern.test(e.message)));

test('what current Firecracker sends (page_size and page_size_kib, both in bytes) parses', () => {
  const payload = [
    { base_host_virt_addr: 0x7f0000000000, size: 32 * PAGE, offset: 32 * PAGE, page_size: PAGE, page_size_kib: PAGE },
    { base_host_virt_addr: 0x7f1000000000, size: 32 * PAGE, offset: 0, page_size: PAGE, page_size_kib: PAGE },
  ];
  assert.deepEqual(parseHandshake(enc(payload), limits), [
    { address: 0x7f0000000000, size: 32 * PAGE, offset: 32 * PAGE, pageSize: PAGE },
    { address: 0x7f1000000000, size: 32 * PAGE, offset: 0, pageSize: PAGE },
  ]);
});

test('older releases: page_size_kib alone (holding bytes); unknown fields are ignored', () => {
  const legacy = { base_host_virt_addr: 0x10000, size: PAGE, offset: PAGE, page_size_kib: PAGE, future_field: { x: 1 } };
  assert.deepEqual(parseHandshake(enc([legacy]), limits), [{ address: 0x10000, size: PAGE, offset: PAGE, pageSize: PAGE }]);
  // page_size wins when both are present
  assert.equal(parseHandshake(enc([region({ page_size_kib: 4 })]), limits)[0].pageSize, PAGE);
});

test('broken JSON and non-UTF-8 bytes are BAD_JSON', () => {
  rejects('[{"base_host_virt_addr": 4096, "size": ', 'ERR_FAULTLINE_FC_BAD_JSON', /not valid JSON/);
  assert.throws(() => parseHandshake(Buffer.from([0x5b, 0xff, 0x5d]), limits), { code: 'ERR_FAULTLINE_FC_BAD_JSON' });
});

test('JSON of the wrong shape is BAD_SHAPE, naming the field', () => {
  rejects({ regions: [region()] }, 'ERR_FAULTLINE_FC_BAD_SHAPE', /JSON array/);
  rejects([], 'ERR_FAULTLINE_FC_BAD_SHAPE', /no memory regions/);
  rejects([42], 'ERR_FAULTLINE_FC_BAD_SHAPE', /regions\[0\] must be an object/);
  rejects([region({ size: '4096' })], 'ERR_FAULTLINE_FC_BAD_SHAPE', /regions\[0\]\.size/);
  rejects([region({ offset: -4096 })], 'ERR_FAULTLINE_FC_BAD_SHAPE', /offset/);
  rejects([region({ base_host_virt_addr: 1.5 })], 'ERR_FAULTLINE_FC_BAD_SHAPE', /base_host_virt_addr/);
  rejects('[{"base_host_virt_addr": 18446744073709547520, "size": 4096, "offset": 0, "page_size": 4096}]',
    'ERR_FAULTLINE_FC_BAD_SHAPE', /below 2\^53/);
  rejects([region({ page_size: undefined })].map(({ page_size, ...r }) => r), 'ERR_FAULTLINE_FC_BAD_SHAPE', /neither page_size/);
  rejects([region({ size: 0 })], 'ERR_FAULTLINE_FC_BAD_SHAPE', /size is 0/);
  rejects([region({ base_host_virt_addr: 0x10010 })], 'ERR_FAULTLINE_FC_BAD_SHAPE', /multiples of the page size/);
  rejects([region(), region({ base_host_virt_addr: 0x7f0000000000 + PAGE, offset: 16 * PAGE })],
    'ERR_FAULTLINE_FC_BAD_SHAPE', /overlap/);
});

test('page sizes other than this machine\'s are refused with the reason', () => {
  rejects([region({ page_size: 3000 })], 'ERR_FAULTLINE_FC_PAGE_SIZE', /power of two/);
  rejects([region({ page_size: 2 << 20, size: 2 << 20 })], 'ERR_FAULTLINE_FC_PAGE_SIZE', /serves 4096-byte pages/);
  // Huge pages the machine offers are served; their address and size must be huge-page multiples.
  const huge = { ...limits, hugePageSizes: [2 << 20] };
  const hugeRegion = region({ base_host_virt_addr: 0x7f0000000000, page_size: 2 << 20, size: 4 << 20, offset: 0 });
  assert.equal(parseHandshake(enc([hugeRegion]), { ...huge, memorySize: 4 << 20 })[0].pageSize, 2 << 20);
  rejects([region({ page_size: 2 << 20, size: 3 * PAGE })], 'ERR_FAULTLINE_FC_BAD_SHAPE', /multiples of the page size 2097152/, huge);
  rejects([region({ page_size: 1 << 30, size: 1 << 30 })], 'ERR_FAULTLINE_FC_PAGE_SIZE', /4096 or 2097152-byte pages/, huge);
});

test('regions must fit in the memory file: offset + size <= file size', () => {
  assert.equal(parseHandshake(enc([region({ offset: 48 * PAGE })]), limits).length, 1); // ends exactly at EOF
  rejects([region({ offset: 48 * PAGE + PAGE })], 'ERR_FAULTLINE_FC_OUT_OF_FILE', /\[200704, 266240\).*262144 bytes/);
  // No size known (a resolver without one): not checked.
  assert.equal(parseHandshake(enc([region({ offset: 1 << 40 })]), { pageSize: PAGE }).length, 1);
});

test('too many regions is TOO_LARGE', () => {
  const many = Array.from({ length: 5 }, (_, i) => region({ base_host_virt_addr: (i + 1) * 1024 * PAGE, size: PAGE }));
  rejects(many, 'ERR_FAULTLINE_FC_TOO_LARGE', /5 regions/, { ...limits, maxRegions: 4 });
});

test('pickUffd: exactly one fd, and it must be a uffd', () => {
  const isUffd = (fd) => fd === 7;
  assert.equal(pickUffd([7], isUffd), 7);
  assert.throws(() => pickUffd([], isUffd), { code: 'ERR_FAULTLINE_FC_NO_FD' });
  assert.throws(() => pickUffd([5], isUffd), { code: 'ERR_FAULTLINE_FC_NOT_UFFD' });
  assert.throws(() => pickUffd([7, 8, 9], isUffd), (e) => e.code === 'ERR_FAULTLINE_FC_EXTRA_FDS' && /guest_memfd/.test(e.message));
});
