// imagemin 9 with imagemin-pngquant 10, as a web build runs them: one imagemin() call per
// option set, the photo read from disk, the result written into a destination folder.
// Run from a folder whose node_modules holds both packages (tests/test_imagemin_pngquant.py).
// usage: node imagemin_pngquant.mjs INPUT.png OUT_DIR OPTION_SETS.json
import fs from 'node:fs';
import path from 'node:path';
import imagemin from 'imagemin';
import imageminPngquant from 'imagemin-pngquant';

const [input, outDir, setsFile] = process.argv.slice(2);
const sets = JSON.parse(fs.readFileSync(setsFile, 'utf8'));
for (const [name, options] of Object.entries(sets)) {
	const files = await imagemin([input], {
		destination: path.join(outDir, name),
		glob: false,
		plugins: [imageminPngquant(options)],
	});
	console.log(JSON.stringify({name, options, written: files.map(f => f.destinationPath)}));
}
