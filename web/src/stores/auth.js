// Who is signed in: the profile from GET /api/me (null when signed out). The session
// itself lives in the server's HttpOnly cookie; this store only mirrors it.
import { defineStore } from 'pinia'
import { api, readCookie, CSRF_COOKIE } from '../api'

export const ROLE_LABELS = { customer: 'Customer', seller: 'Seller', admin: 'Admin' }

let pending = null

export const useAuthStore = defineStore('auth', {
  state: () => ({ user: null, loaded: false, error: null }),
  getters: {
    signedIn: (state) => Boolean(state.user),
    role: (state) => (state.user && state.user.role) || null,
    isSeller: (state) => Boolean(state.user && (state.user.role === 'seller' || state.user.role === 'admin')),
    isAdmin: (state) => Boolean(state.user && state.user.role === 'admin'),
    firstName: (state) => {
      const name = (state.user && state.user.name) || ''
      return name.trim().split(/\s+/)[0] || (state.user && state.user.email) || ''
    },
  },
  actions: {
    /** Asks the server who is signed in (once, unless forced). Never throws. */
    load({ force = false } = {}) {
      if (pending && !force) return pending
      // Sign-in sets the readable CSRF cookie together with the HttpOnly session cookie,
      // and sign-out clears both: without it nobody is signed in, so shoppers who never
      // signed in cost no request (and see no 401 in the console).
      if (!readCookie(CSRF_COOKIE)) {
        this.user = null
        this.loaded = true
        pending = Promise.resolve()
        return pending
      }
      pending = api
        .me()
        .then((me) => {
          this.user = me
          this.error = null
        })
        .catch((e) => {
          // 401: nobody is signed in. Anything else: treat as signed out, remember why.
          this.user = null
          this.error = e.status === 401 ? null : e
        })
        .finally(() => {
          this.loaded = true
        })
      return pending
    },
    /** Sign-in and sign-up answer {token, user}; the profile then comes from /api/me. */
    async afterSignIn(answer) {
      this.user = { phone: null, address: null, sms_notifications: false, ...(answer && answer.user) }
      this.loaded = true
      pending = Promise.resolve()
      await this.load({ force: true })
      if (!this.user && answer && answer.user) this.user = { phone: null, address: null, ...answer.user }
    },
    /** `onRetry` hears when a busy shop's 503 is retried (see api.js). */
    async signIn(email, password, { onRetry } = {}) {
      await this.afterSignIn(await api.login({ email, password }, { onRetry }))
    },
    async signUp(fields, { onRetry } = {}) {
      await this.afterSignIn(await api.signup(fields, { onRetry }))
    },
    async signOut() {
      try {
        await api.logout()
      } catch (e) {
        if (e.status !== 401) throw e // 401: the session had ended already
      }
      this.forget()
    },
    /** Drops the local copy (after sign-out, or when the server says the session ended). */
    forget() {
      this.user = null
      this.loaded = true
      pending = Promise.resolve()
    },
    async updateProfile(changes) {
      const profile = await api.updateMe(changes)
      this.user = { ...this.user, ...profile }
      return this.user
    },
  },
})
