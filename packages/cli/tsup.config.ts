import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

// The shebang is harmless in the library entry and required in the bin.
export default defineConfig(packageBuild({ index: 'src/index.ts', bin: 'src/bin.ts' }, { banner: { js: '#!/usr/bin/env node' } }));
