// A custom resolver in one small file (examples/resolvers/mandelbrot.mjs):
// each page of this 16 MiB "image" is computed the first time it is touched.
//
//   node examples/custom-resolver.mjs
import { FaultHandler, resolvers } from '@faultline/core';

const WIDTH = 4096; // one row per page, one byte per pixel
const HEIGHT = 4096;

const handler = await FaultHandler.create({ workers: 2 });
try {
  const image = await handler.map({
    size: WIDTH * HEIGHT,
    resolver: resolvers.custom(new URL('./resolvers/mandelbrot.mjs', import.meta.url), { width: WIDTH, height: HEIGHT, maxIter: 64 }),
    name: 'mandelbrot',
  });
  const pixels = new Uint8Array(image.buffer);
  // Print a coarse ASCII view: touches 24 rows (24 pages) out of 4096.
  const shades = ' .:-=+*#%@';
  for (let y = 0; y < 24; y++) {
    const row = Math.floor(((y + 0.5) * HEIGHT) / 24);
    let line = '';
    for (let x = 0; x < 64; x++) line += shades[Math.floor((pixels[row * WIDTH + x * 64] * (shades.length - 1)) / 255)];
    console.log(line);
  }
  await handler.idle(); // counters are final once nothing is pending
  console.log(`rows computed: ${image.stats().pagesInstalled} of ${HEIGHT}`);
} finally {
  await handler.close();
}
