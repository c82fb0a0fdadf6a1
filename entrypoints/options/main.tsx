import '@/assets/tailwind.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { DbProvider } from '@/components/db-context';
import { GleanerDb } from '@/lib/db';
import { App } from './app';

const root = document.getElementById('root');
if (!root) throw new Error('options.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <DbProvider db={new GleanerDb()}>
      <App />
    </DbProvider>
  </StrictMode>,
);
