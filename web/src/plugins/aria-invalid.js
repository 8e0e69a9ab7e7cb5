// Vuetify marks a field in error with the class v-input--error but does not tell
// assistive technology: this keeps aria-invalid="true" on the field's own input in step.
const FIELD = 'input:not([type="hidden"]), textarea, [role="combobox"]'

function sync(root) {
  const invalid = root.classList.contains('v-input--error')
  for (const el of root.querySelectorAll(FIELD)) {
    if (invalid) el.setAttribute('aria-invalid', 'true')
    else el.removeAttribute('aria-invalid')
  }
}

export function watchInvalidFields(target = document.body) {
  if (typeof MutationObserver === 'undefined') return
  const observer = new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes' && r.target.classList && r.target.classList.contains('v-input')) sync(r.target)
      else if (r.type === 'childList') {
        for (const node of r.addedNodes) {
          if (node.nodeType !== 1) continue
          if (node.classList.contains('v-input')) sync(node)
          for (const el of node.querySelectorAll('.v-input--error')) sync(el)
        }
      }
    }
  })
  observer.observe(target, { subtree: true, childList: true, attributes: true, attributeFilter: ['class'] })
}
