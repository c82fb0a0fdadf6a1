import '@/assets/tailwind.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { browser } from 'wxt/browser';
import { DbProvider } from '@/components/db-context';
import { GleanerDb } from '@/lib/db';
import { sendMessage } from '@/lib/messages';
import { App } from './app';

const root = document.getElementById('root');
if (!root) throw new Error('popup.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <DbProvider db={new GleanerDb()}>
      <App
        version={browser.runtime.getManifest().version}
        openOptions={async () => {
          await browser.runtime.openOptionsPage();
          window.close();
        }}
        openLabeling={async () => {
          // Labeling gets a page of its own: room for the task, the keys and the instructions.
          await browser.tabs.create({ url: browser.runtime.getURL('/labeling.html') });
          window.close();
        }}
        refreshPoints={() => sendMessage('refreshPoints', {})}
        checkConnection={() => sendMessage('checkConnection', {})}
      />
    </DbProvider>
  </StrictMode>,
);
