// Loads a PEFT LoRA adapter from disk, prints its modules, then scales one
// module's B factor and saves the result as a new PEFT adapter.
//
//   npm run build
//   node examples/node/inspect-adapter.mjs packages/core/test/fixtures/lora-qv-r8 /tmp/scaled-adapter
import { describeAdapter, isLoraFuseError, loadAdapter, saveAdapter, Tensor } from '@lorafuse/core';
import { nodeFolder } from '@lorafuse/core/node';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node inspect-adapter.mjs <adapter-dir> <out-dir>');
  process.exit(2);
}

try {
  const adapter = await loadAdapter(nodeFolder(input));
  const info = describeAdapter(adapter);
  console.log(`r=${info.r} alpha=${info.lora_alpha} scaling=${info.scaling}, ${info.modules.length} modules, ${info.parameters} parameters`);
  for (const m of info.modules) console.log(`  ${m.name}: [${m.out} x ${m.r}] · [${m.r} x ${m.in}] × ${m.scaling}`);

  // Halve the first module's contribution by scaling its B factor.
  const [first, ...rest] = adapter.modules;
  const b = first.b.castFloat('f32');
  const halved = new Tensor(
    'f32',
    b.shape,
    b.data.map((v) => v / 2),
  );
  await saveAdapter(nodeFolder(output), { ...adapter, modules: [{ ...first, b: halved }, ...rest] });
  console.log(`saved to ${output}`);
} catch (error) {
  // Every problem with the input is a LoraFuseError with a stable code.
  if (isLoraFuseError(error)) {
    console.error(`${error.code}: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
