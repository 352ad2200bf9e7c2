// GAN Tutor: render saved ipywidgets offline. Loaded after require.js and before embed-amd.js
// (order set by nb_ipywidgets_js in _config.yml).
(function () {
  // 1. Point require.js at the local copy of @jupyter-widgets/html-manager (_static/vendor/html-manager).
  //    embed-amd.js defines @jupyter-widgets/{base,controls,output,html-manager} itself; webpack
  //    resolves their font files (Font Awesome icons of Play, Button, ...) relative to each module's
  //    require.js URL, so mapping the package prefix to our folder makes those load from this site.
  var me = document.currentScript && document.currentScript.src;
  if (me && window.require && window.require.config) {
    var staticDir = me.slice(0, me.lastIndexOf("/") + 1);
    window.require.config({
      paths: { "@jupyter-widgets": staticDir + "vendor/html-manager" }
    });
  }
  // 2. The widgets typeset their labels with the MathJax 2 API (MathJax.Hub.Queue); the book loads
  //    MathJax 3. Bridge the one call they make, so a description like "$\beta$" renders and no
  //    TypeError is thrown. Registered before embed-amd.js registers its own "load" handler.
  window.addEventListener("load", function () {
    var MJ = window.MathJax;
    if (!MJ || MJ.Hub || !MJ.typesetPromise) { return; }
    MJ.Hub = {
      Queue: function (job) {
        var el = job && job[2];
        if (!el) { return; }
        // Jupyter writes inline math as $...$; the book's MathJax 3 only knows \( ... \).
        if (el.childElementCount === 0 && el.textContent.indexOf("$") !== -1) {
          el.textContent = el.textContent.replace(/\$([^$]+)\$/g, "\\($1\\)");
        }
        var ready = (MJ.startup && MJ.startup.promise) || Promise.resolve();
        ready.then(function () { return MJ.typesetPromise([el]); })
             .catch(function (err) { console.warn("MathJax typeset failed", err); });
      }
    };
  });
})();
