/**
 * The screen class of a viewport width in CSS pixels, at the breakpoints peers use (Plausible:
 * mobile under 576, tablet under 992, laptop under 1440, desktop from 1440). "" when the
 * event sent no width (a server-side event): no screen row, as for an absent UTM parameter.
 */
export function screenClass(width: number | null): string {
  if (width === null) return ''
  if (width < 576) return 'mobile'
  if (width < 992) return 'tablet'
  if (width < 1440) return 'laptop'
  return 'desktop'
}
