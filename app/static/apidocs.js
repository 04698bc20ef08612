// Starts the vendored Swagger UI on /apidocs (an external file: the page's CSP allows no inline script).
// The spec is always ours: query-string configuration (?url=, ?configUrl=) is off, there is no
// URL bar (BaseLayout, no standalone preset) and no outside validator.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    queryConfigEnabled: false,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: false,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: false,
  });
});
