import type { WebContents } from 'electron';
import type { AirlockService } from '../core/service/service.js';
import { pushChannel } from '../../preload/contract.js';

/**
 * Sends the service's pushes (already batched) to our own window only: one IPC message per push.
 * Nothing is sent while there is no window, or once its contents are gone.
 */
export function forwardPushes(service: Pick<AirlockService, 'subscribe'>, target: () => Pick<WebContents, 'send' | 'isDestroyed'> | undefined): () => void {
  return service.subscribe((push) => {
    const contents = target();
    if (!contents || contents.isDestroyed()) return;
    contents.send(pushChannel(push.topic), push.payload);
  });
}
