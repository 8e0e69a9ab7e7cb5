// The "busy, retrying" state of a request that retries a busy shop's 503 by itself (see api.js):
// what its button shows while it waits, and one sentence per wait for screen readers.
import { computed, getCurrentInstance, onBeforeUnmount, ref } from 'vue'

export function useRetryStatus() {
  const until = ref(0) // when the next try goes out (Date.now() ms); 0 while no wait runs
  const now = ref(Date.now())
  const retried = ref(false) // a 503 was retried during this submit
  const announcement = ref('') // set once per wait: a live region that changed every second would chatter
  let timer = null

  function stopTicking() {
    if (timer) clearInterval(timer)
    timer = null
  }

  /** The onRetry of api.js: { attempt, tries, until } when a wait starts, { done: true } when it ends. */
  function onRetry(state) {
    if (state.done) {
      until.value = 0
      stopTicking()
      return
    }
    retried.value = true
    now.value = Date.now()
    until.value = state.until
    const s = Math.max(1, Math.ceil((state.until - now.value) / 1000))
    announcement.value = `The shop is busy. Trying again in ${s} second${s === 1 ? '' : 's'} (try ${state.attempt + 1} of ${state.tries}).`
    if (!timer) timer = setInterval(() => (now.value = Date.now()), 250)
  }

  /** Back to the plain state (when the submit ends, whichever way). */
  function reset() {
    until.value = 0
    retried.value = false
    announcement.value = ''
    stopTicking()
  }

  const seconds = computed(() => (until.value ? Math.max(1, Math.ceil((until.value - now.value) / 1000)) : 0))
  const text = computed(() => {
    if (seconds.value) return `The shop is busy, retrying in ${seconds.value} s…`
    return retried.value ? 'The shop is busy, trying again…' : ''
  })

  if (getCurrentInstance()) onBeforeUnmount(stopTicking)
  return { text, announcement, onRetry, reset }
}
