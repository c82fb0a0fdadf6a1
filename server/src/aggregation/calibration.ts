export interface ReliabilityBin {
  low: number;
  high: number;
  count: number;
  meanConfidence: number;
  accuracy: number;
}

/**
 * Reliability diagram over equal-width confidence bins, and the expected calibration error
 * (Σ bin share · |accuracy − mean confidence|): how far stated confidences are from observed accuracy.
 */
export function calibrationReport(predictions: ReadonlyArray<{ confidence: number; correct: boolean }>, binCount = 10) {
  const count = new Float64Array(binCount);
  const confidence = new Float64Array(binCount);
  const correct = new Float64Array(binCount);
  for (const prediction of predictions) {
    const bin = Math.min(binCount - 1, Math.floor(prediction.confidence * binCount));
    count[bin] = (count[bin] as number) + 1;
    confidence[bin] = (confidence[bin] as number) + prediction.confidence;
    if (prediction.correct) correct[bin] = (correct[bin] as number) + 1;
  }
  const bins: ReliabilityBin[] = [];
  let expectedCalibrationError = 0;
  for (let bin = 0; bin < binCount; bin += 1) {
    const n = count[bin] as number;
    if (n === 0) continue;
    const meanConfidence = (confidence[bin] as number) / n;
    const accuracy = (correct[bin] as number) / n;
    bins.push({ low: bin / binCount, high: (bin + 1) / binCount, count: n, meanConfidence, accuracy });
    expectedCalibrationError += (n / predictions.length) * Math.abs(accuracy - meanConfidence);
  }
  return { bins, expectedCalibrationError };
}
