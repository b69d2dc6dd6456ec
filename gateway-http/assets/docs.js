// Starts Swagger UI on the gateway's own OpenAPI document; "try it" calls the same origin.
window.ui = SwaggerUIBundle({ url: 'openapi.json', dom_id: '#swagger-ui', deepLinking: true, tryItOutEnabled: false });
