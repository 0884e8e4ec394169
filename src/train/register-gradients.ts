/**
 * Registers the gradient of every op: training needs them, prediction does not, so only the
 * training worker imports this module (the page stays lighter). Node registers them in
 * node/tf.ts: this tfjs-core ESM file cannot be imported by Node (directory imports).
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
