import { z } from 'zod';
import { workStateSchema } from './campaigns';
import { findUncleanText, isCleanText } from './clean-text';
import { isoDateSchema, nameSchema, storedTextSchema } from './primitives';

/** What a labeler is asked to give for each item of a project. */
export const labelSchemaSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('single_choice'), choices: z.array(z.string().trim().min(1).max(200)).min(2).max(9) }),
  z.object({ type: z.literal('multi_choice'), choices: z.array(z.string().trim().min(1).max(200)).min(2).max(9) }),
  /** Which of two answers to a prompt is better, or a tie. */
  z.object({ type: z.literal('pairwise') }),
  /** Spans of the item's text, each with one of these labels. */
  z.object({ type: z.literal('spans'), labels: z.array(z.string().trim().min(1).max(100)).min(1).max(9) }),
]);
export type LabelSchema = z.infer<typeof labelSchemaSchema>;

/**
 * A label schema as a buyer creates it: its choices and span labels storable and distinct, and none of a
 * multi-choice option or span label holding "|", which `labelKey` joins them with (options "a|b", "a" and "b"
 * would otherwise be one answer to aggregation and gold checks). Stored schemas are read with the plain one.
 */
export const newLabelSchemaSchema = labelSchemaSchema.superRefine((schema, ctx) => {
  const [names, field] =
    schema.type === 'spans'
      ? [schema.labels, 'labels']
      : schema.type === 'pairwise'
        ? [[], '']
        : [schema.choices, 'choices'];
  const seen = new Set<string>();
  names.forEach((name, index) => {
    const problem = !isCleanText(name)
      ? 'must not hold a NUL character or a broken (unpaired) surrogate'
      : seen.has(name)
        ? `"${name}" is given twice`
        : schema.type !== 'single_choice' && name.includes('|')
          ? `must not hold "|" (it joins the ${field} of one answer)`
          : undefined;
    seen.add(name);
    if (problem) ctx.addIssue({ code: 'custom', path: [field, index], message: problem });
  });
});

/** One thing to label: a text, an image by URL, or a prompt with two answers. */
export const itemContentSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string().min(1).max(20_000) }),
  z.object({
    type: z.literal('image'),
    imageUrl: z.url({ protocol: /^https?$/ }).max(4096),
    caption: z.string().max(2000).optional(),
  }),
  z.object({
    type: z.literal('pairwise'),
    prompt: z.string().min(1).max(20_000),
    answers: z.tuple([z.string().min(1).max(20_000), z.string().min(1).max(20_000)]),
  }),
]);
export type ItemContent = z.infer<typeof itemContentSchema>;

/**
 * Item content as a buyer sends it: every string storable. Items and examples are kept as JSON, and
 * PostgreSQL's jsonb (examples, datasets) refuses a NUL or an unpaired surrogate that text would keep.
 */
const storableContentSchema = itemContentSchema.superRefine((content, ctx) => {
  const path = findUncleanText(content);
  if (path !== null) {
    ctx.addIssue({
      code: 'custom',
      path: path.split('.'),
      message: 'must not hold a NUL character or a broken (unpaired) surrogate',
    });
  }
});

/** Labeled spans of a text item: character offsets [start, end) with one of the schema's labels. */
const spansValueSchema = z.object({
  type: z.literal('spans'),
  spans: z
    .array(
      z.object({
        start: z.number().int().nonnegative().max(20_000),
        end: z.number().int().positive().max(20_000),
        label: z.string().max(100),
      }),
    )
    .max(200),
});

/** A label as stored and aggregated. Pairwise labels name the answer (a, b) regardless of where it was shown. */
export const labelValueSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('single_choice'), choice: z.string().max(200) }),
  z.object({ type: z.literal('multi_choice'), choices: z.array(z.string().max(200)).max(9) }),
  z.object({ type: z.literal('pairwise'), preferred: z.enum(['a', 'b', 'tie']) }),
  spansValueSchema,
]);
export type LabelValue = z.infer<typeof labelValueSchema>;

/** One item as uploaded by a buyer: `id` is the buyer's own, `gold` a known answer. */
export const projectItemInputSchema = z.object({
  id: z.string().min(1).max(200).pipe(storedTextSchema),
  content: storableContentSchema,
  gold: labelValueSchema.optional(),
});
export type ProjectItemInput = z.infer<typeof projectItemInputSchema>;

/**
 * Most items one request may carry (project creation, or one `POST /v1/projects/:id/items`): larger
 * sets go in further requests, so no one request holds the server for long.
 */
export const maxItemsPerRequest = 10_000;

/** The refusal of an upload over `maxItemsPerRequest`, naming the cap and the way on. */
export const tooManyItems = (count?: number) =>
  `at most ${maxItemsPerRequest.toLocaleString('en-US')} items per request${count === undefined ? '' : ` (this one has ${count.toLocaleString('en-US')})`}: send the rest with further POST /v1/projects/{id}/items requests, up to ${maxItemsPerRequest.toLocaleString('en-US')} each`;

/** Most worked examples a project's instructions may carry, and their size as JSON, all together. */
export const maxExamples = 5;
export const maxExamplesChars = 20_000;

/**
 * A worked example shown with the instructions: an item, its correct answer, and why. Checked
 * against the project's schema like a gold answer; it is never handed out as a task.
 */
export const projectExampleSchema = z.object({
  content: storableContentSchema,
  answer: labelValueSchema,
  explanation: z.string().max(2000).pipe(storedTextSchema).optional(),
});
export type ProjectExample = z.infer<typeof projectExampleSchema>;

export const projectExamplesSchema = z
  .array(projectExampleSchema)
  .max(maxExamples, `at most ${maxExamples} examples`)
  .refine((examples) => JSON.stringify(examples).length <= maxExamplesChars, {
    message: `the examples together may take at most ${maxExamplesChars.toLocaleString('en-US')} characters as JSON`,
  });

/** `POST /v1/projects`. Items may also come later (`POST /v1/projects/:id/items`, JSON or JSONL). */
export const projectCreateSchema = z.object({
  name: nameSchema,
  instructions: z.string().min(1).max(20_000).pipe(storedTextSchema),
  labelSchema: newLabelSchemaSchema,
  /** How many usable labels each item needs. */
  overlap: z.number().int().min(1).max(25).default(3),
  /** Share of tasks that are gold items, mixed in unseen. */
  goldRate: z.number().min(0).max(0.5).default(0.1),
  /** Worked examples shown with the instructions; each must fit the label schema (or the project is refused). */
  examples: projectExamplesSchema.optional(),
  /** Items are checked one by one: bad ones come back with a reason, good ones are kept. */
  items: z.array(z.unknown()).max(maxItemsPerRequest, tooManyItems()).default([]),
});
export type ProjectCreate = z.input<typeof projectCreateSchema>;

export const rejectedItemSchema = z.object({ index: z.number().int(), id: z.string().nullable(), reason: z.string() });

/** How a project's labels are aggregated: `ds`, `onecoin`, `mace`, `wawa`, `mv` (categorical), `bt` (pairwise). */
export const projectAggregationSchema = z.object({
  method: z.string(),
  /** The method's priors, e.g. Dawid-Skene's smoothing, diagonal and pooled pseudo-counts. */
  parameters: z.record(z.string(), z.number()),
  selectedBy: z.enum(['gold', 'answers', 'named']),
});
export type ProjectAggregation = z.infer<typeof projectAggregationSchema>;

export const projectSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  instructions: z.string(),
  labelSchema: labelSchemaSchema,
  overlap: z.number().int(),
  goldRate: z.number(),
  /** Worked examples shown to labelers with the instructions (absent from older servers). */
  examples: z.array(projectExampleSchema).optional(),
  createdAt: isoDateSchema,
  state: workStateSchema,
  progress: z.object({
    items: z.number().int(),
    goldItems: z.number().int(),
    itemsComplete: z.number().int(),
    labels: z.number().int(),
    labelers: z.number().int(),
    /** Mean confidence of the aggregated labels; null before any item is aggregated. */
    agreement: z.number().nullable(),
    /**
     * Pairwise projects: each labeler's share of "left" choices among decisive answers (0.5 is fair),
     * and whether it is far enough from 0.5 to call biased. Null for other schemas.
     */
    positionBias: z
      .array(
        z.object({
          labeler: z.string(),
          decisive: z.number().int(),
          leftShare: z.number().nullable(),
          biased: z.boolean(),
        }),
      )
      .nullable(),
    /**
     * The aggregation method and priors chosen for this project at its last re-aggregation (by held-out
     * likelihood: of gold items when enough have answers, else of held-out answers). Absent from older
     * servers; null before the first aggregation.
     */
    aggregation: projectAggregationSchema.nullable().optional(),
  }),
});
export type Project = z.infer<typeof projectSchema>;

/** `GET /v1/projects`: the buyer's projects, newest first. */
export const projectListSchema = z.object({
  projects: z.array(projectSchema),
  /** Pass as `before` for the next (older) projects; null at the end. */
  next: z.string().nullable(),
});
export type ProjectList = z.infer<typeof projectListSchema>;

export const itemsAddedSchema = z.object({
  added: z.number().int(),
  rejected: z.array(rejectedItemSchema),
});

export const projectCreatedSchema = itemsAddedSchema.extend({ project: projectSchema });
export type ProjectCreated = z.infer<typeof projectCreatedSchema>;

/** Signed `POST /v1/tasks/lease`; with `projectId`, tasks of that project only. */
export const taskLeaseRequestSchema = z.object({
  max: z.number().int().min(1).max(20).default(5),
  projectId: z.uuid().optional(),
});

/**
 * Signed `GET /v1/tasks/projects`: the active projects that have work for this labeler, by name, with
 * the crowd's progress and the labeler's own count. Nothing about the buyer, the gold items or other labelers.
 */
export const labelingProjectsSchema = z.object({
  projects: z.array(
    z.object({
      id: z.uuid(),
      name: z.string(),
      labelType: z.enum(['single_choice', 'multi_choice', 'pairwise', 'spans']),
      /** Items to label (check items not counted) and how many of them have all their labels. */
      items: z.number().int(),
      itemsComplete: z.number().int(),
      /** Tasks this labeler answered in the project (skips not counted). */
      yourLabels: z.number().int(),
    }),
  ),
});
export type LabelingProjects = z.infer<typeof labelingProjectsSchema>;

/** A task as the labeler sees it. Pairwise answers come as left/right in this assignment's order. */
export const leasedTaskSchema = z.object({
  assignmentId: z.string(),
  projectId: z.uuid(),
  projectName: z.string(),
  instructions: z.string(),
  labelSchema: labelSchemaSchema,
  content: z.discriminatedUnion('type', [
    z.object({ type: z.literal('text'), text: z.string() }),
    z.object({ type: z.literal('image'), imageUrl: z.string(), caption: z.string().optional() }),
    z.object({ type: z.literal('pairwise'), prompt: z.string(), left: z.string(), right: z.string() }),
  ]),
  /** The project's worked examples, shown with the instructions (absent from older servers). */
  examples: z.array(projectExampleSchema).max(maxExamples).optional(),
  expiresAt: isoDateSchema,
});
export type LeasedTask = z.infer<typeof leasedTaskSchema>;

export const taskLeaseResponseSchema = z.object({ tasks: z.array(leasedTaskSchema) });

/**
 * A label in a result batch (`POST /v1/results`, next to scrape results). Pairwise answers say
 * left/right/tie as shown; the server maps them to a/b with the order it recorded.
 */
export const labelResultSchema = z.object({
  kind: z.literal('label'),
  assignmentId: z.string().min(1).max(64),
  labeledAt: isoDateSchema,
  /** Skipped tasks are not labels; the item goes to someone else. */
  skipped: z.boolean().default(false),
  answer: z
    .discriminatedUnion('type', [
      z.object({ type: z.literal('single_choice'), choice: z.string().max(200) }),
      z.object({ type: z.literal('multi_choice'), choices: z.array(z.string().max(200)).max(9) }),
      z.object({ type: z.literal('pairwise'), preferred: z.enum(['left', 'right', 'tie']) }),
      spansValueSchema,
    ])
    .optional(),
});
export type LabelResult = z.input<typeof labelResultSchema>;

/** Signed `GET /v1/devices/me/labeling`: how the labeler is doing on gold, and whether they earn. */
export const labelerStandingSchema = z.object({
  goldAnswered: z.number().int(),
  goldCorrect: z.number().int(),
  /** Null during the warm-up (too few gold answers to judge). */
  goldAccuracy: z.number().nullable(),
  earning: z.boolean(),
  /** Why labels stop counting, in words, when `earning` is false. */
  reason: z.string().nullable(),
  labels: z.number().int(),
  points: z.object({ pending: z.number().int(), verified: z.number().int() }),
});
export type LabelerStanding = z.infer<typeof labelerStandingSchema>;

/** `GET /v1/projects/:id/labels`: each item's aggregated label with its confidence, and the raw labels. */
/** `GET /v1/projects/:id/labelers`: each labeler of the project and how good their work is. */
export const projectLabelersSchema = z.object({
  labelers: z.array(
    z.object({
      /** The labeler's id in this project (a keyed hash of the device), as in the labels and the position bias. */
      labeler: z.string(),
      /** Labels given in this project (gold items excluded). */
      labels: z.number().int(),
      /** Gold (check) answers over all projects, and how many were right: the rule every payment uses. */
      goldAnswered: z.number().int(),
      goldCorrect: z.number().int(),
      /** Null during the warm-up (fewer than `goldPolicy.minGold` gold answers). */
      goldAccuracy: z.number().nullable(),
      /** Whether their labels count and earn (warm-up, or accuracy at or above `goldPolicy.minAccuracy`). */
      counted: z.boolean(),
      /** Labels on items that have an aggregate. */
      compared: z.number().int(),
      /** Share of compared labels that equal the aggregate; null with none compared. */
      agreement: z.number().nullable(),
    }),
  ),
});
export type ProjectLabelers = z.infer<typeof projectLabelersSchema>;

export const projectLabelsSchema = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      /** The item as the buyer gave it. */
      content: itemContentSchema,
      gold: z.boolean(),
      complete: z.boolean(),
      aggregate: z.object({ label: z.string(), confidence: z.number(), method: z.enum(['ds', 'mv', 'bt']) }).nullable(),
      labels: z.array(z.object({ labeler: z.string(), value: labelValueSchema, labeledAt: isoDateSchema })),
    }),
  ),
  next: z.number().int().nullable(),
});
export type ProjectLabels = z.infer<typeof projectLabelsSchema>;

/** The gold rule, the same for server, audit CLI and popup: judged after 3 gold answers, labels stop counting below 60%. */
export const goldPolicy = { minGold: 3, minAccuracy: 0.6 } as const;
