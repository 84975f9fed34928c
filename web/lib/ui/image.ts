/** Avatars travel in profile cards, so they stay small: at most 256 px, and the whole JPEG data URL ≤ 64 KiB. */
const AVATAR_MAX_PX = 256;
const AVATAR_MAX_CHARS = 64 * 1024;

function loadImage(file: File): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(file);
    const image = new Image();
    image.onload = () => {
      URL.revokeObjectURL(url);
      resolve(image);
    };
    image.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Error('That file could not be read as an image.'));
    };
    image.src = url;
  });
}

/** Scales the image down to fit AVATAR_MAX_PX and re-encodes it as JPEG, lowering quality until it fits. */
export async function avatarFromFile(file: File): Promise<string> {
  if (!file.type.startsWith('image/')) throw new Error('Choose an image file (PNG, JPEG, WebP or GIF).');
  const image = await loadImage(file);
  const scale = Math.min(1, AVATAR_MAX_PX / Math.max(image.naturalWidth, image.naturalHeight));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(image.naturalWidth * scale));
  canvas.height = Math.max(1, Math.round(image.naturalHeight * scale));
  const context = canvas.getContext('2d');
  if (!context) throw new Error('This browser cannot resize images.');
  // JPEG has no transparency: paint a white background first.
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(image, 0, 0, canvas.width, canvas.height);
  for (const quality of [0.85, 0.7, 0.55, 0.4, 0.25]) {
    const dataUrl = canvas.toDataURL('image/jpeg', quality);
    if (dataUrl.length <= AVATAR_MAX_CHARS) return dataUrl;
  }
  throw new Error('That image is too detailed to fit in 64 KiB, even scaled down. Try a simpler one.');
}
