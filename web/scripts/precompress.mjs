// Writes FILE.br (brotli, best quality) and FILE.gz (gzip, level 9) beside every text file of the
// built page over 256 bytes, when they are smaller than the file. The server answers with them
// instead of compressing at start-up (src/http/static_files.h), which took seconds per start for
// the larger scripts. Run by `npm run build` after Vite.
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'

const TEXT = new Set(['.html', '.js', '.mjs', '.css', '.svg', '.json', '.webmanifest', '.txt', '.xml', '.map'])
const dist = path.resolve(process.argv[2] || 'dist')

function* files(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) yield* files(full)
    else if (entry.isFile()) yield full
  }
}

let written = 0
for (const file of files(dist)) {
  if (!TEXT.has(path.extname(file))) continue
  const data = fs.readFileSync(file)
  if (data.length <= 256) continue
  const variants = {
    '.br': zlib.brotliCompressSync(data, {
      params: {
        [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
        [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      },
    }),
    '.gz': zlib.gzipSync(data, { level: 9 }),
  }
  for (const [suffix, compressed] of Object.entries(variants)) {
    if (compressed.length < data.length) {
      fs.writeFileSync(file + suffix, compressed)
      written += 1
    }
  }
}
console.log(`precompress: ${written} variants in ${path.relative(process.cwd(), dist) || '.'}`)
