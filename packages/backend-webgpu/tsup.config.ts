import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

// The declarations use the WebGPU types (GPUDevice...) as globals; the bundled
// .d.ts must point consumers at them, and tsup drops the sources' directives.
export default defineConfig(packageBuild({ index: 'src/index.ts' }, { dts: { banner: '/// <reference types="@webgpu/types" />' } }));
