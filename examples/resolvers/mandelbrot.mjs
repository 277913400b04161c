// Resolver module: row `offset / width` of a Mandelbrot image, one byte per pixel
// (255 = inside the set). Runs in Faultline's workers, one instance per worker.
export default function create({ width, height, maxIter }) {
  return {
    resolve(request, out) {
      for (let i = 0; i < request.length; i++) {
        const pixel = request.offset + i;
        const x = pixel % width;
        const y = Math.floor(pixel / width);
        const cr = (x / width) * 3.5 - 2.5;
        const ci = (y / height) * 2.4 - 1.2;
        let zr = 0;
        let zi = 0;
        let n = 0;
        while (n < maxIter && zr * zr + zi * zi <= 4) {
          const t = zr * zr - zi * zi + cr;
          zi = 2 * zr * zi + ci;
          zr = t;
          n++;
        }
        out[i] = Math.floor((n * 255) / maxIter);
      }
    },
  };
}
