// Picks an icon for a category from words in its slug; unknown categories get a tag.
import {
  mdiBabyBottle, mdiBaguette, mdiBottleSoda, mdiCarrot, mdiCheese, mdiCoffee, mdiController,
  mdiCookie, mdiDiceMultiple, mdiFish, mdiFoodApple, mdiFoodSteak, mdiGamepadSquare, mdiGamepadVariant,
  mdiHeadset, mdiIceCream, mdiKeyboard, mdiMicrosoftXbox, mdiMonitor, mdiNintendoSwitch, mdiPasta,
  mdiPaw, mdiSnowflake, mdiSonyPlaystation, mdiSprayBottle, mdiTagOutline, mdiTshirtCrew, mdiGift,
  mdiBookOpenPageVariant, mdiEgg, mdiLeaf, mdiCandy, mdiMicrosoftXboxController, mdiTrophyOutline,
  mdiLotionOutline,
} from '@mdi/js'

const RULES = [
  [/pc|computer|steam/, mdiMonitor],
  [/playstation|ps[345]|sony/, mdiSonyPlaystation],
  [/xbox/, mdiMicrosoftXbox],
  [/switch|nintendo/, mdiNintendoSwitch],
  [/retro|classic|arcade/, mdiGamepadSquare],
  [/controller|game-?pad|joystick/, mdiMicrosoftXboxController],
  [/console/, mdiController],
  [/keyboard|mouse|peripheral/, mdiKeyboard],
  [/accessor|headset|audio|gear/, mdiHeadset],
  [/merch|apparel|shirt|cloth|wear/, mdiTshirtCrew],
  [/gift|voucher/, mdiGift],
  [/collect|figure|statue|trophy/, mdiTrophyOutline],
  [/board|tabletop|card|dice/, mdiDiceMultiple],
  [/book|comic|guide/, mdiBookOpenPageVariant],
  [/game|video/, mdiGamepadVariant],
  [/fruit/, mdiFoodApple],
  [/veg|produce|salad/, mdiCarrot],
  [/egg/, mdiEgg],
  [/dairy|cheese|milk/, mdiCheese],
  [/bak|bread/, mdiBaguette],
  [/meat|butcher|poultry/, mdiFoodSteak],
  [/fish|seafood/, mdiFish],
  [/frozen|ice/, mdiSnowflake],
  [/dessert|sweet|candy|confection/, mdiCandy],
  [/snack|biscuit|cookie/, mdiCookie],
  [/coffee|tea/, mdiCoffee],
  [/drink|beverage|juice|soda|water/, mdiBottleSoda],
  [/pantry|pasta|grain|rice|dry/, mdiPasta],
  [/house|clean|home/, mdiSprayBottle],
  [/baby/, mdiBabyBottle],
  [/health|beauty|care|cosmetic/, mdiLotionOutline],
  [/pet/, mdiPaw],
  [/organic|herb|plant/, mdiLeaf],
  [/cream|gelato/, mdiIceCream],
]

export function categoryIcon(slug) {
  const s = String(slug || '').toLowerCase()
  for (const [re, icon] of RULES) if (re.test(s)) return icon
  return mdiTagOutline
}
