// Sign-out shared by the header menu and the phone drawer: ends the session on the
// server, leaves pages that need one, and says so.
import { ref } from 'vue'
import { useRouter } from 'vue-router'
import { errorText } from '../../api'
import { useAuthStore } from '../../stores/auth'
import { useNoticeStore } from '../../stores/notice'

export function useSignOut() {
  const auth = useAuthStore()
  const notice = useNoticeStore()
  const router = useRouter()
  const busy = ref(false)

  async function signOut() {
    busy.value = true
    try {
      await auth.signOut()
      const current = router.currentRoute.value
      if (current.meta.auth || current.name === 'forbidden') await router.push({ name: 'home' })
      notice.show('You are signed out.')
    } catch (e) {
      notice.error(`Could not sign out: ${errorText(e)}`)
    } finally {
      busy.value = false
    }
  }
  return { busy, signOut }
}
