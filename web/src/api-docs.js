// The API reference page (/api/docs): Redoc renders the document the server serves at
// /api/openapi.json. Everything comes from this build; nothing is fetched from elsewhere.
import { createElement } from 'react'
import { createRoot } from 'react-dom/client'
import { RedocStandalone } from 'redoc'
import './api-docs.css'

createRoot(document.getElementById('api-reference')).render(
  createElement(RedocStandalone, {
    specUrl: '/api/openapi.json',
    options: {
      // Redoc's search runs in a worker made from a blob: URL, which the page's
      // Content-Security-Policy (worker-src falls back to script-src 'self') does not allow.
      disableSearch: true,
      hideDownloadButton: false,
      expandResponses: '200,201',
      jsonSampleExpandLevel: 3,
    },
  }),
)
