// Names and colours for the admin pages about outgoing messages: the event types a webhook
// can subscribe to, the states of a notification (SMS or webhook call) and of a dead letter
// (an event a subscriber gave up on). See the admin notifications, events and webhooks pages.

export const EVENT_TYPES = [
  { value: 'order.placed', text: 'an order is placed' },
  { value: 'order.shipped', text: 'an order ships' },
  { value: 'order.delivered', text: 'an order is delivered' },
  { value: 'order.cancelled', text: 'an order is cancelled' },
  { value: 'product.changed', text: 'a product is added, changed or archived' },
]

export const CHANNELS = {
  sms: { label: 'SMS' },
  webhook: { label: 'Webhook' },
}

export const DELIVERY_STATUS = {
  pending: { label: 'Queued', color: 'info', text: 'waiting to be sent' },
  sending: { label: 'Sending', color: 'primary', text: 'being sent now' },
  sent: { label: 'Sent', color: 'success', text: 'delivered to the provider' },
  local: { label: 'Kept locally', color: 'secondary', text: 'kept in the local outbox, not sent' },
  failed: { label: 'Failed', color: 'error', text: 'permanent error, not retried' },
  dead: { label: 'Dead', color: 'error', text: 'retries used up' },
  replaying: { label: 'Replaying', color: 'info', text: 'handed back to the subscriber' },
  replayed: { label: 'Replayed', color: 'success', text: 'handled on replay' },
}

/** Notification states an admin may send again. */
export const RETRYABLE = ['failed', 'dead']

export function deliveryStatus(status) {
  return DELIVERY_STATUS[status] || { label: String(status || 'Unknown'), color: 'default', text: '' }
}

export function channelLabel(channel) {
  return (CHANNELS[channel] && CHANNELS[channel].label) || String(channel || '')
}

/** A message body for reading: JSON bodies indented, anything else as it is. */
export function readableBody(body) {
  const s = String(body ?? '')
  const t = s.trim()
  if (!t.startsWith('{') && !t.startsWith('[')) return s
  try {
    return JSON.stringify(JSON.parse(t), null, 2)
  } catch {
    return s
  }
}
