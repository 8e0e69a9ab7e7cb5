// An SVG icon from @mdi/js path data, drawn in the current text colour. Decorative unless given a
// `label` (then it is an image with that name). A plain function: no component instance per icon.
import { h } from 'vue'

export default function Icon(props) {
  const size = props.size || 24
  const named = Boolean(props.label)
  return h(
    'svg',
    {
      class: 'icon',
      viewBox: '0 0 24 24',
      width: size,
      height: size,
      focusable: 'false',
      ...(named ? { role: 'img', 'aria-label': props.label } : { 'aria-hidden': 'true' }),
    },
    [h('path', { d: props.icon })],
  )
}
Icon.props = ['icon', 'size', 'label']
