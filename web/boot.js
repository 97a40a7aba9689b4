// Starts the app: picks the threaded or the single-threaded build and shows start-up failures.
// A file, not an inline script, so that the site runs under a Content-Security-Policy without
// 'unsafe-inline' (public/_headers).
document.getElementById('fatal-reload').addEventListener('click', () => location.reload());
document.getElementById('fatal-dismiss').addEventListener('click', () => {
  document.getElementById('fatal').hidden = true;
});
// Relative URLs only: the site works from any base path (GitHub Pages, a course subfolder).
const fatal = (message) => {
  document.getElementById('fatal-message').textContent = message;
  document.getElementById('fatal').hidden = false;
};
if (typeof WebAssembly !== 'object') {
  fatal('This browser cannot run WebAssembly, which Flowscope needs. Try a current Chrome, Edge, Firefox or Safari.');
} else {
  // Two builds of the same app: the threaded one needs shared memory, which browsers give
  // only to cross-origin isolated pages (COOP and COEP headers); ?threads=1 asks for one thread.
  const load = (pkg) => import(`./${pkg}/flowscope_web.js`).then((module) => module.default());
  const threaded = self.crossOriginIsolated && new URLSearchParams(location.search).get('threads') !== '1';
  (threaded
    ? load('pkg-threads').catch((error) => {
        // A site built without the threaded variant, or a browser that refuses it: the
        // single-threaded build runs everywhere. A crash after start-up is not retried.
        if (!document.getElementById('fatal').hidden) throw error;
        console.warn('Flowscope: the threaded build did not start, using one thread:', error);
        return load('pkg');
      })
    : load('pkg'))
    .catch((error) => {
      // A panic has already filled the overlay; anything else (download, compile) lands here.
      if (document.getElementById('fatal').hidden) fatal('Flowscope failed to start: ' + error);
      console.error(error);
    });
}
