// Starts Swagger UI on the service's own OpenAPI document. validatorUrl: null keeps the page
// from asking an outside validator about the document: the page must work offline.
window.addEventListener("load", function () {
  var spec = document.body.getAttribute("data-openapi-url");
  window.ui = SwaggerUIBundle({
    url: spec,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    docExpansion: "list",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
