// Two small behaviours the admin pages share: copying a secret shown once, and an action that
// asks for confirmation first (revoke, delete).
import { ref } from 'vue'
import { errorText } from './api'

// Copies text to the clipboard and says how it went (for an aria-live line).
// what: the thing copied, in words ("token", "secret").
export function useCopy(what) {
  const copied = ref(false)
  const copyMessage = ref('')
  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text)
      copied.value = true
      copyMessage.value = `The ${what} is on your clipboard.`
    } catch {
      copyMessage.value = `Copying is blocked here: select the ${what} and copy it by hand.`
    }
  }
  function resetCopy() {
    copied.value = false
    copyMessage.value = ''
  }
  return { copied, copyMessage, copyText, resetCopy }
}

// An action on one item behind a ConfirmDialog. run(item) does it; on success the dialog
// closes, done is shown as a notice and reload() runs. A 404 means someone else did it first:
// gone is shown in the dialog and the list is reloaded.
export function useConfirmedAction({ run, done, gone, notice, reload }) {
  const open = ref(false)
  const target = ref(null)
  const busy = ref(false)
  const error = ref('')
  function ask(item) {
    target.value = item
    error.value = ''
    open.value = true
  }
  async function confirm() {
    busy.value = true
    error.value = ''
    try {
      await run(target.value)
      open.value = false
      notice.show(done)
      reload()
    } catch (e) {
      error.value = e.status === 404 ? gone : errorText(e)
      if (e.status === 404) reload()
    } finally {
      busy.value = false
    }
  }
  return { open, target, busy, error, ask, confirm }
}
