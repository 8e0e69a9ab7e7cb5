// CSP-friendly home for Vuetify's generated theme CSS. Vuetify writes its theme into a
// <style> element, which a Content-Security-Policy without 'unsafe-inline' blocks. When the
// app provides a "usehead"-like object, Vuetify hands the CSS to it instead; this one puts
// it into a constructed stylesheet (document.adoptedStyleSheets), which CSP allows.
export function installThemeSheet(app) {
  if (typeof CSSStyleSheet === 'undefined' || !('adoptedStyleSheets' in document)) return
  let sheet = null
  const apply = (head) => {
    const css = (head && head.style && head.style.map((s) => s.textContent || '').join('\n')) || ''
    if (!sheet) {
      sheet = new CSSStyleSheet()
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet]
    }
    sheet.replaceSync(css)
  }
  app.provide('usehead', {
    push(getHead) {
      apply(getHead())
      return { patch: (next) => apply(next()) }
    },
  })
}
