import { issuedApiKeySchema } from '@protocol/buyers';
import { type CampaignCreate, campaignCreatedSchema } from '@protocol/campaigns';
import { type ProjectCreate, projectCreatedSchema } from '@protocol/labeling';
import { articlePath, demoArticleCount } from './demo-site';

/** What the demo made on the server, for the person trying it and for the test that drives it. */
export interface DemoSetup {
  buyerApiKey: string;
  campaignId: string;
  /** The pages the campaign asks devices to fetch. */
  campaignUrls: string[];
  projectId: string;
}

const reviews: Array<[string, 'positive' | 'negative']> = [
  ['The kettle boils in under two minutes and the handle stays cool. Very happy with it.', 'positive'],
  ['Stopped charging after a week. The replacement did the same.', 'negative'],
  ['Comfortable shoes straight out of the box, and they still look new after a month of daily walks.', 'positive'],
  ['The zip broke the first time I closed the bag, and the seller never answered.', 'negative'],
  ['Clear instructions, took ten minutes to assemble, and the shelf is solid.', 'positive'],
  ['Smaller than the pictures suggest and the colour is nothing like the listing.', 'negative'],
  ['Battery lasts all weekend on one charge. I would buy it again.', 'positive'],
  ['Arrived scratched, and the lid does not close properly.', 'negative'],
];

// Items whose answer the buyer knows: mixed in unseen, they measure each labeler (at least three count).
const gold: Array<[string, 'positive' | 'negative']> = [
  ['Absolutely love it: works perfectly and looks great on the desk.', 'positive'],
  ['Fell apart within days. A complete waste of money.', 'negative'],
  ['Excellent value, fast delivery, and exactly as described.', 'positive'],
  ['Loud, slow, and it leaks. Returned it.', 'negative'],
];

/** The demo's labeling project: short product reviews, positive or negative, with gold and one example. */
export const demoProject: ProjectCreate = {
  name: 'Demo: review sentiment',
  instructions:
    'Read the product review and choose whether the reviewer is happy with the product (positive) or not (negative).',
  labelSchema: { type: 'single_choice', choices: ['positive', 'negative'] },
  // One label per item, so a single person trying the demo completes items.
  overlap: 1,
  goldRate: 0.3,
  examples: [
    {
      content: { type: 'text', text: 'Does what it says, but the cable is short.' },
      answer: { type: 'single_choice', choice: 'positive' },
      explanation: 'A small complaint, yet the reviewer is satisfied overall.',
    },
  ],
  items: [
    ...reviews.map(([text], i) => ({ id: `review-${i + 1}`, content: { type: 'text', text } })),
    ...gold.map(([text, choice], i) => ({
      id: `gold-${i + 1}`,
      content: { type: 'text', text },
      gold: { type: 'single_choice', choice },
    })),
  ],
};

async function call<T>(
  url: string,
  token: string,
  body: unknown,
  parse: (json: unknown) => T,
  what: string,
): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${what}: the server answered ${response.status}: ${await response.text()}`);
  return parse(await response.json());
}

/**
 * Creates a buyer (through the operator's admin API, as `npm run gleaner -- buyers create` does), its
 * campaign over every page of the demo site, and its labeling project. Fails if the server refuses
 * any of the site's pages: then the server does not allow the site's origin.
 */
export async function setUpDemo(serverUrl: string, operatorToken: string, siteOrigin: string): Promise<DemoSetup> {
  const { apiKey } = await call(
    `${serverUrl}/v1/admin/buyers`,
    operatorToken,
    { name: 'Demo Buyer' },
    (json) => issuedApiKeySchema.parse(json),
    'creating the demo buyer',
  );
  const campaignUrls = [
    `${siteOrigin}/`,
    ...Array.from({ length: demoArticleCount }, (_, n) => `${siteOrigin}${articlePath(n)}`),
  ];
  const campaign: CampaignCreate = { name: 'Demo: The Daily Example', urls: campaignUrls };
  const created = await call(
    `${serverUrl}/v1/campaigns`,
    apiKey,
    campaign,
    (json) => campaignCreatedSchema.parse(json),
    'creating the demo campaign',
  );
  if (created.accepted !== campaignUrls.length) {
    throw new Error(
      `the server accepted ${created.accepted} of the demo site's ${campaignUrls.length} pages: is ${siteOrigin} in its GLEANER_TEST_ORIGINS? ${JSON.stringify(created.rejected)}`,
    );
  }
  const project = await call(
    `${serverUrl}/v1/projects`,
    apiKey,
    demoProject,
    (json) => projectCreatedSchema.parse(json),
    'creating the demo labeling project',
  );
  if (project.rejected.length > 0)
    throw new Error(`the server refused demo items: ${JSON.stringify(project.rejected)}`);
  return { buyerApiKey: apiKey, campaignId: created.campaign.id, campaignUrls, projectId: project.project.id };
}
