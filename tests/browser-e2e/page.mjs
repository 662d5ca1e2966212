// Driving the example app's page with playwright-core. Every wait is on a
// state of the page (data attributes, text), bounded only by the page's
// default timeout, which the suite sets from its time budget.

/** States the page sets on <body data-state>. */
const FINAL = ['done', 'error', 'cancelled'];

/** Opens the app with form fields preset from `query`, and waits until it is ready. */
export async function openApp(context, origin, query) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.errors = errors;
  await page.goto(`${origin}/index.html?${new URLSearchParams(query)}`);
  await page.waitForFunction(() => document.body.dataset.state === 'idle');
  return page;
}

/** Picks the input folders and data file, as a user would. */
export async function pickInputs(page, inputs, train = inputs.train) {
  await page.setInputFiles('#model-files', inputs.model);
  await page.setInputFiles('#target-files', inputs.target);
  await page.setInputFiles('#related-files', inputs.related);
  await page.setInputFiles('#train-file', train);
}

/** Waits for the run to end; throws with the page's status unless it ended in `expected`. */
export async function waitForEnd(page, expected = 'done') {
  try {
    await page.waitForFunction((final) => final.includes(document.body.dataset.state), FINAL, { polling: 50 });
  } catch (error) {
    throw new Error(`${error.message}; the page says: ${await page.textContent('#status')}`);
  }
  const state = await page.evaluate(() => document.body.dataset.state);
  if (state !== expected)
    throw new Error(
      `the run ended "${state}", not "${expected}": ${await page.textContent('#status')}${page.errors.length ? `; page errors: ${page.errors.join(' | ')}` : ''}`,
    );
}

/** The finished page: table rows, chart and the downloadable files (fetched from their blob URLs). */
export async function readOutcome(page) {
  return page
    .evaluate(async () => {
      const rows = [...document.querySelectorAll('#results tbody tr')].map((tr) => ({
        name: tr.cells[0].textContent,
        loss: Number(tr.dataset.loss),
        shown: [...tr.cells].map((c) => c.textContent),
      }));
      const loss = document.querySelector('#chart path.loss');
      const files = {};
      for (const a of document.querySelectorAll('#downloads a')) files[a.download] = Array.from(new Uint8Array(await (await fetch(a.href)).arrayBuffer()));
      return {
        rows,
        chart: {
          points: Number(loss?.getAttribute('data-points')),
          segments: (loss?.getAttribute('d') ?? '').split(/[ML]/).filter(Boolean).length,
          sparsity: document.querySelector('#chart path.sparsity')?.getAttribute('d') ?? '',
        },
        progress: { value: document.querySelector('#progress').value, max: document.querySelector('#progress').max },
        files,
      };
    })
    .then((outcome) => ({ ...outcome, files: Object.fromEntries(Object.entries(outcome.files).map(([name, bytes]) => [name, Uint8Array.from(bytes)])) }));
}

/** Whether the page's browser offers a WebGPU adapter (headless Chromium: SwiftShader where there is no GPU). */
export async function hasWebGPUAdapter(page) {
  return page.evaluate(async () => Boolean(await navigator.gpu?.requestAdapter()));
}
