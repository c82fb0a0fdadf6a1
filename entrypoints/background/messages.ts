import { browser } from 'wxt/browser';
import { handleMessage, type MessageHandlers } from '@/lib/messages';

/** Answers the pages' messages. Only this extension's own pages can send them (no externally_connectable). */
export function setupMessages(handlers: MessageHandlers): void {
  browser.runtime.onMessage.addListener((message, _sender, sendResponse) => {
    // Reply through sendResponse and return true: the async form that Chrome, Firefox (with the
    // polyfill) and WXT's fake browser all honour; a returned Promise is dropped by the fake one.
    handleMessage(handlers, message).then(sendResponse);
    return true;
  });
}
