import '@/assets/tailwind.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { DbProvider } from '@/components/db-context';
import { LabelingPage } from '@/components/labeling-page';
import { GleanerDb } from '@/lib/db';

// An unlisted page (/labeling.html): the popup opens it in a tab for labeling at full size.
const root = document.getElementById('root');
if (!root) throw new Error('labeling.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <DbProvider db={new GleanerDb()}>
      <LabelingPage />
    </DbProvider>
  </StrictMode>,
);
