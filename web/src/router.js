import { createRouter, createWebHistory } from 'vue-router'
import HomePage from './pages/HomePage.vue'
import CatalogPage from './pages/CatalogPage.vue'
import ProductPage from './pages/ProductPage.vue'
import CartPage from './pages/CartPage.vue'
import ForbiddenPage from './pages/ForbiddenPage.vue'
import NotFoundPage from './pages/NotFoundPage.vue'
import { useAuthStore } from './stores/auth'

// The shopper's pages (meta.light: home, catalog, product, cart, not found, no access) are plain Vue and come with the
// first download; every other page loads on demand together with Vuetify (see main.js), so
// shoppers download neither. A new route needs no flag: without meta.light it gets Vuetify.
const SignInPage = () => import('./pages/SignInPage.vue')
const SignUpPage = () => import('./pages/SignUpPage.vue')
const AccountPage = () => import('./pages/AccountPage.vue')
const SellerProductsPage = () => import('./pages/SellerProductsPage.vue')
const AdminUsersPage = () => import('./pages/AdminUsersPage.vue')
const AdminTokensPage = () => import('./pages/AdminTokensPage.vue')
const AdminNotificationsPage = () => import('./pages/AdminNotificationsPage.vue')
const AdminWebhooksPage = () => import('./pages/AdminWebhooksPage.vue')
const AdminEventsPage = () => import('./pages/AdminEventsPage.vue')
const AdminOperationsPage = () => import('./pages/AdminOperationsPage.vue')
const AdminSlowRequestsPage = () => import('./pages/AdminSlowRequestsPage.vue')
const AdminRecommendationsPage = () => import('./pages/AdminRecommendationsPage.vue')
const AdminDeliveryPage = () => import('./pages/AdminDeliveryPage.vue')
const CheckoutPage = () => import('./pages/CheckoutPage.vue')
const OrdersPage = () => import('./pages/OrdersPage.vue')
const OrderPage = () => import('./pages/OrderPage.vue')
const SellerOrdersPage = () => import('./pages/SellerOrdersPage.vue')
const SalesPage = () => import('./pages/SalesPage.vue')

// meta.auth: signed-in users only; meta.roles: and only these roles; meta.guest: signed-out users.
// History mode: the server answers index.html for unknown non-API paths.
export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', name: 'home', component: HomePage, meta: { light: true } },
    { path: '/catalog', name: 'catalog', component: CatalogPage, meta: { light: true } },
    { path: '/products/:id(\\d+)', name: 'product', component: ProductPage, props: true, meta: { light: true } },
    { path: '/signin', name: 'signin', component: SignInPage, meta: { guest: true } },
    { path: '/signup', name: 'signup', component: SignUpPage, meta: { guest: true } },
    { path: '/account', name: 'account', component: AccountPage, meta: { auth: true } },
    { path: '/seller', redirect: { name: 'seller-products' } },
    {
      path: '/seller/products',
      name: 'seller-products',
      component: SellerProductsPage,
      meta: { auth: true, roles: ['seller', 'admin'], area: 'the seller area' },
    },
    { path: '/cart', name: 'cart', component: CartPage, meta: { light: true } },
    { path: '/checkout', name: 'checkout', component: CheckoutPage, meta: { auth: true } },
    { path: '/orders', name: 'orders', component: OrdersPage, meta: { auth: true } },
    { path: '/orders/:id(\\d+)', name: 'order', component: OrderPage, props: true, meta: { auth: true } },
    {
      path: '/seller/orders',
      name: 'seller-orders',
      component: SellerOrdersPage,
      meta: { auth: true, roles: ['seller', 'admin'], area: 'the seller area' },
    },
    {
      path: '/seller/sales',
      name: 'seller-sales',
      component: SalesPage,
      meta: { auth: true, roles: ['seller', 'admin'], area: 'the seller area' },
    },
    { path: '/admin', redirect: { name: 'admin-users' } },
    { path: '/admin/sales', name: 'admin-sales', component: SalesPage, meta: { auth: true, roles: ['admin'], area: 'the admin area', admin: true } },
    { path: '/admin/users', name: 'admin-users', component: AdminUsersPage, meta: { auth: true, roles: ['admin'], area: 'the admin area' } },
    { path: '/admin/tokens', name: 'admin-tokens', component: AdminTokensPage, meta: { auth: true, roles: ['admin'], area: 'the admin area' } },
    { path: '/admin/notifications', name: 'admin-notifications', component: AdminNotificationsPage, meta: { auth: true, roles: ['admin'], area: 'the admin area' } },
    { path: '/admin/webhooks', name: 'admin-webhooks', component: AdminWebhooksPage, meta: { auth: true, roles: ['admin'], area: 'the admin area' } },
    { path: '/admin/events', name: 'admin-events', component: AdminEventsPage, meta: { auth: true, roles: ['admin'], area: 'the admin area' } },
    { path: '/admin/operations', name: 'admin-operations', component: AdminOperationsPage, meta: { auth: true, roles: ['admin'], area: 'the admin area' } },
    { path: '/admin/slow-requests', name: 'admin-slow-requests', component: AdminSlowRequestsPage, meta: { auth: true, roles: ['admin'], area: 'the admin area' } },
    { path: '/admin/recommendations', name: 'admin-recommendations', component: AdminRecommendationsPage, meta: { auth: true, roles: ['admin'], area: 'the admin area' } },
    { path: '/admin/delivery', name: 'admin-delivery', component: AdminDeliveryPage, meta: { auth: true, roles: ['admin'], area: 'the admin area' } },
    { path: '/:pathMatch(.*)*', name: 'not-found', component: NotFoundPage, meta: { light: true } },
    // Shown in place (the address stays) when a signed-in user lacks the role for a page.
    { path: '/:pathMatch(.*)*', name: 'forbidden', component: ForbiddenPage, meta: { light: true } },
  ],
  scrollBehavior: (to, from, saved) => saved || { top: 0 },
})

/** A same-site path to return to after signing in ("/" unless `next` is a safe local path). */
export function safeNext(next) {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/'
}

router.beforeEach(async (to) => {
  const auth = useAuthStore()
  if (to.meta.auth || to.meta.guest || !auth.loaded) await auth.load()
  if (to.meta.guest && auth.signedIn) return safeNext(to.query.next)
  if (!to.meta.auth) return true
  if (!auth.signedIn) return { name: 'signin', query: { next: to.fullPath } }
  if (to.meta.roles && !to.meta.roles.includes(auth.role)) {
    return {
      name: 'forbidden',
      params: { pathMatch: to.path.substring(1).split('/') },
      query: to.query,
      hash: to.hash,
    }
  }
  return true
})
