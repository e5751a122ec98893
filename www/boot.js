// Starts the kasse web app. Trunk puts the hashed names of the app's JS glue and WebAssembly on
// this script's tag, so the page needs no inline script and our Content-Security-Policy can forbid
// them.
const tag = document.querySelector('script[data-wasm]');
const { default: init } = await import(tag.dataset.js);
await init({ module_or_path: tag.dataset.wasm });
