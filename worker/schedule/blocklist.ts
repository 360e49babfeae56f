/**
 * Programs whose running means "someone is playing": games, and the in-game parts of launchers
 * (overlays, anti-cheat services). Launchers idling in the tray are left out on purpose: gamers
 * keep them open all day, and blocking on them would mean never earning.
 */
import { programKey } from '../../protocol/settings.js';

export const BUILTIN_BLOCKLIST: readonly string[] = [
  // in-game helpers of launchers and anti-cheat services
  'GameOverlayUI.exe',
  'EasyAntiCheat.exe',
  'EasyAntiCheat_EOS.exe',
  'BEService.exe',
  'BEService_x64.exe',
  'EADesktopOverlay.exe',
  'UplayWebCore.exe',
  // games
  'Cyberpunk2077.exe',
  'cs2.exe',
  'csgo.exe',
  'dota2.exe',
  'VALORANT-Win64-Shipping.exe',
  'LeagueClientUx.exe',
  'League of Legends.exe',
  'FortniteClient-Win64-Shipping.exe',
  'r5apex.exe',
  'r5apex_dx12.exe',
  'GTA5.exe',
  'GTA5_Enhanced.exe',
  'RDR2.exe',
  'eldenring.exe',
  'witcher3.exe',
  'Overwatch.exe',
  'Diablo IV.exe',
  'Wow.exe',
  'WowClassic.exe',
  'Minecraft.Windows.exe',
  'javaw.exe',
  'RocketLeague.exe',
  'PUBG-Win64-Shipping.exe',
  'TslGame.exe',
  'destiny2.exe',
  'bg3.exe',
  'bg3_dx11.exe',
  'Starfield.exe',
  'HogwartsLegacy.exe',
  'FC25.exe',
  'cod.exe',
  'ModernWarfare.exe',
  'BlackOps6.exe',
  'Palworld-Win64-Shipping.exe',
  'helldivers2.exe',
  'MonsterHunterWilds.exe',
  'RainbowSix.exe',
  'RainbowSix_Vulkan.exe',
  'EscapeFromTarkov.exe',
  'Rust.exe',
  'ArmaReforgerSteam.exe',
  'FactoryGame-Win64-Shipping.exe',
  'Warframe.x64.exe',
  'PathOfExile.exe',
  'PathOfExile_x64Steam.exe',
  'PathOfExile2.exe',
  'StarCitizen.exe',
  'Deadlock.exe',
  'project8.exe',
];

/** Lowercased, without a trailing `.exe`: how names are compared (one rule, in protocol/). */
export { programKey };

/** The first running program that is blocked, as the user would recognise it, or null. */
export function findBlockedProgram(running: readonly string[], blocked: readonly string[]): string | null {
  const keys = new Map(blocked.map((b) => [programKey(b), b] as const));
  for (const name of running) {
    const match = keys.get(programKey(name));
    if (match !== undefined) return name.trim() || match;
  }
  return null;
}
